/** The `producer` command's text output: one producer from the copy, and the selling answer when asked. */
import type { LicenseView, ProducerView, RecordMeta, SellingAnswer } from '#read/index';

/** The view with only the records on file for `state` (records without a state, like the entity, stay). */
export function viewForState(view: ProducerView, state: string): ProducerView {
  const inState = <T extends { forState?: string | undefined; state?: string | undefined }>(records: T[], key: 'forState' | 'state'): T[] =>
    records.filter((record) => record[key] === undefined || record[key]?.toUpperCase() === state);
  return {
    ...view,
    licensesByState: view.licensesByState.filter((group) => group.state.toUpperCase() === state),
    appointmentsByCarrier: view.appointmentsByCarrier
      .map((carrier) => ({ ...carrier, appointments: inState(carrier.appointments, 'state') }))
      .filter((carrier) => carrier.appointments.length > 0),
    addresses: inState(view.addresses, 'forState'),
    regulatoryActions: inState(view.regulatoryActions, 'state'),
    contactInfos: inState(view.contactInfos, 'forState'),
    otherNames: inState(view.otherNames, 'forState'),
  };
}

/** ` [soft-deleted]`, ` [missing from the source since D]`, or nothing for a current record. */
function standing(meta: RecordMeta): string {
  if (meta.standing === 'soft-deleted') return ' [deleted in NIPR]';
  if (meta.standing === 'missing-from-source') return ` [missing from the source${meta.missingFromSource?.since ? ` since ${meta.missingFromSource.since}` : ''}]`;
  return '';
}

const joined = (...parts: Array<string | number | undefined | null>): string => parts.filter((p) => p !== undefined && p !== null && p !== '').join(' ');

function licenseLine(license: LicenseView): string {
  const expiry = license.expirationDate ? `expires ${license.expirationDate}` : 'no expiry';
  const head = joined(`    ${license.licenseNum ?? license.id ?? '?'}`, license.licenseClass, license.residencyStatus, `${license.status.toUpperCase()},`, expiry);
  const loas = license.loas.map((loa) => `${joined(loa.name, loa.code ? `(${loa.code})` : undefined)} ${loa.status ?? '?'}${standing(loa)}`);
  return `${head}${standing(license)}\n      LOAs: ${loas.length ? loas.join('; ') : 'none listed'}`;
}

/** The producer for people (`--output text`). */
export function formatProducer(view: ProducerView): string {
  const { entity, subscription } = view;
  const sub = subscription.status === 'unknown' ? 'subscription: no activation or deactivation recorded' : `subscription: ${subscription.status}${subscription.statusDate ? ` since ${subscription.statusDate}` : ''}`;
  const lines = [
    `NPN ${view.npn}  ${entity ? `${entity.name ?? '(no name)'}${entity.type ? ` (${entity.type})` : ''}${standing(entity)}` : '(no entity record in the copy)'}`,
    `  ${sub}; ${view.itemCount} items in the copy`,
  ];
  const section = (title: string, rows: string[]): void => void lines.push('', title, ...(rows.length ? rows : ['  none']));
  section('Licenses by state', view.licensesByState.flatMap((group) => [`  ${group.state}`, ...group.licenses.map(licenseLine)]));
  section(
    'Appointments by carrier',
    view.appointmentsByCarrier.flatMap((carrier) => [
      `  ${carrier.coCode} ${carrier.companyName ?? ''}`.trimEnd(),
      ...carrier.appointments.map(
        (a) => `    ${joined(a.state, a.line ?? a.lineCode, a.status, a.statusReasonDate ? `(${a.statusReasonDate})` : undefined, a.terminationReason ? `- ${a.terminationReason}` : undefined)}${standing(a)}`,
      ),
    ]),
  );
  section('Addresses', view.addresses.map((a) => `  ${joined(a.type, a.forState ? `(${a.forState})` : undefined)}: ${joined(a.line1, a.city, a.state, a.zip)}${standing(a)}`));
  section(
    'Regulatory actions',
    view.regulatoryActions.map((r) => `  ${joined(r.state, r.actionDate, r.actionId ? `#${r.actionId}` : undefined, Object.values(r.values).join(', '), r.penaltyFineForfeiture ? `$${r.penaltyFineForfeiture}` : undefined)}${standing(r)}`),
  );
  section('Contact information', view.contactInfos.map((c) => `  ${joined(c.type, c.forState ? `(${c.forState})` : undefined)}: ${c.value ?? ''}${standing(c)}`));
  section('Other names', view.otherNames.map((o) => `  ${joined(o.type, o.forState ? `(${o.forState})` : undefined)}: ${o.value ?? ''}${standing(o)}`));
  return lines.join('\n');
}

/** The selling answer for people. */
export function formatSellingAnswer(answer: SellingAnswer): string {
  const { question } = answer;
  const asked = `May NPN ${answer.npn} sell ${question.line} in ${question.state} on ${question.today}${question.carrier ? ` for carrier ${question.carrier}` : ''}?`;
  return [
    asked,
    `  ${answer.allowed ? 'YES' : 'NO'}: ${answer.allowed ? answer.reason.replace(/^yes: /, '') : answer.reason}`,
    ...answer.checks.map((c) => `  ${c.passed ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}`),
    `  not checked: ${answer.notChecked.join('; ')}`,
  ].join('\n');
}
