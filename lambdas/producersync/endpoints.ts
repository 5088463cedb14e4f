/**
 * The v2 "for subscribed NPNs" list endpoints that the sync engine mirrors.
 * One catalogue shared by the client, the sync engine, the simulator and the CLI,
 * so an endpoint is named the same way everywhere (the `type` in exports, the
 * `recordType` attribute in DynamoDB, the key under `embedded`).
 */

/** One endpoint of the catalogue. */
export interface EndpointSpec {
  /** Endpoint name: path segment after /v2/, key inside `embedded`, and the record type everywhere in this product. */
  readonly name: EndpointName;
  /** Path of the aggregated "for subscribed NPNs" list endpoint. */
  readonly path: string;
  /** Path of the per-NPN variant, `{npn}` to be substituted (auto-subscribes the NPN: billing relevant). */
  readonly perNpnPath?: string;
  /** Path of the by-id v1 read, `{id}` to be substituted. */
  readonly byIdPath: string;
  /**
   * Synced by default. LOAs travel embedded in their license (`licenses[].licenseLoas`),
   * so the separate LOA list is opt-in for accounts whose licenses arrive without them.
   */
  readonly syncedByDefault: boolean;
}

/** Every endpoint name, in catalogue order. */
export const ENDPOINT_NAMES = [
  'entities',
  'licenses',
  'licenseLoas',
  'appointments',
  'addresses',
  'contactInfos',
  'otherNames',
  'regulatoryActions',
] as const;

/** One of ENDPOINT_NAMES. */
export type EndpointName = (typeof ENDPOINT_NAMES)[number];

/** The catalogue, by name. */
export const ENDPOINTS: Readonly<Record<EndpointName, EndpointSpec>> = {
  entities: { name: 'entities', path: '/v2/entities', byIdPath: '/v2/entities/{npn}', syncedByDefault: true },
  licenses: {
    name: 'licenses',
    path: '/v2/licenses',
    perNpnPath: '/v2/entities/{npn}/licenses',
    byIdPath: '/v1/licenses/{id}',
    syncedByDefault: true,
  },
  licenseLoas: { name: 'licenseLoas', path: '/v2/licenseLoas', byIdPath: '/v1/licenseLoas/{id}', syncedByDefault: false },
  appointments: {
    name: 'appointments',
    path: '/v2/appointments',
    perNpnPath: '/v2/entities/{npn}/appointments',
    byIdPath: '/v1/appointments/{id}',
    syncedByDefault: true,
  },
  addresses: {
    name: 'addresses',
    path: '/v2/addresses',
    perNpnPath: '/v2/entities/{npn}/addresses',
    byIdPath: '/v1/addresses/{id}',
    syncedByDefault: true,
  },
  contactInfos: {
    name: 'contactInfos',
    path: '/v2/contactInfos',
    perNpnPath: '/v2/entities/{npn}/contactInfos',
    byIdPath: '/v1/contactInfos/{id}',
    syncedByDefault: true,
  },
  otherNames: {
    name: 'otherNames',
    path: '/v2/otherNames',
    perNpnPath: '/v2/entities/{npn}/otherNames',
    byIdPath: '/v1/otherNames/{id}',
    syncedByDefault: true,
  },
  regulatoryActions: {
    name: 'regulatoryActions',
    path: '/v2/regulatoryActions',
    perNpnPath: '/v2/entities/{npn}/regulatoryActions',
    byIdPath: '/v1/regulatoryActions/{id}',
    syncedByDefault: true,
  },
};

/** What a run syncs unless SYNC_ENDPOINTS says otherwise. */
export const DEFAULT_SYNC_ENDPOINTS: readonly EndpointName[] = ENDPOINT_NAMES.filter((n) => ENDPOINTS[n].syncedByDefault);

/** True for a catalogue name. */
export function isEndpointName(value: unknown): value is EndpointName {
  return typeof value === 'string' && (ENDPOINT_NAMES as readonly string[]).includes(value);
}

/** ProducerSync's documented limits (producersync-api.md §4.3, §2.3). */
export const API_LIMITS = {
  apiRequestsPerMinute: 300,
  tokenRequestsPerMinute: 200,
  maxPageSize: 1000,
  tokenLifetimeSeconds: 3600,
  /** Refresh this long before expiry (AgentSync's own guidance: "under 5 minutes remain"). */
  tokenRefreshMarginSeconds: 300,
} as const;

/** The AgentSync hosts per environment (producersync-api.md §1.1). */
export const AGENTSYNC_HOSTS = {
  sandbox: { tokenUrl: 'https://auth.sandbox.agentsync.io/oauth2/token', apiBaseUrl: 'https://api.sandbox.agentsync.io' },
  production: { tokenUrl: 'https://auth.agentsync.io/oauth2/token', apiBaseUrl: 'https://api.agentsync.io' },
} as const;
/** `sandbox` or `production`. */
export type AgentSyncEnvironment = keyof typeof AGENTSYNC_HOSTS;
