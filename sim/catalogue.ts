/** Static reference values the generated records draw from. */
export const STATES = [
  'AL', 'AK', 'AZ', 'AR', 'CA', 'CO', 'CT', 'DE', 'DC', 'FL', 'GA', 'HI', 'ID', 'IL', 'IN', 'IA', 'KS', 'KY', 'LA',
  'ME', 'MD', 'MA', 'MI', 'MN', 'MS', 'MO', 'MT', 'NE', 'NV', 'NH', 'NJ', 'NM', 'NY', 'NC', 'ND', 'OH', 'OK', 'OR',
  'PA', 'RI', 'SC', 'SD', 'TN', 'TX', 'UT', 'VT', 'VA', 'WA', 'WV', 'WI', 'WY',
] as const;

export interface LoaKind {
  readonly loa: string;
  readonly loaCode: string;
  readonly categories: readonly string[];
}

export const LOA_KINDS: readonly LoaKind[] = [
  { loa: 'Property', loaCode: '12', categories: ['property'] },
  { loa: 'Casualty', loaCode: '13', categories: ['casualty'] },
  { loa: 'Accident & Health', loaCode: '14', categories: ['health'] },
  { loa: 'Life', loaCode: '16', categories: ['life'] },
  { loa: 'Variable Life and Variable Annuity', loaCode: '18', categories: ['life', 'variable'] },
  { loa: 'Personal Lines', loaCode: '928', categories: ['property', 'casualty'] },
  { loa: 'Surety', loaCode: '20', categories: ['surety'] },
  { loa: 'Credit', loaCode: '3', categories: ['credit'] },
];

export const COMPANIES = [
  { companyName: 'My Insurance Company', coCode: '98765', feinId: '351234567' },
  { companyName: 'Acme Mutual Insurance', coCode: '24740', feinId: '410987654' },
  { companyName: 'Great Plains Life', coCode: '70408', feinId: '470555123' },
  { companyName: 'Harbor Casualty Co', coCode: '21458', feinId: '131112223' },
  { companyName: 'Summit Assurance', coCode: '60054', feinId: '860223344' },
  { companyName: 'Blue Ridge Indemnity', coCode: '19445', feinId: '540998877' },
  { companyName: 'Pioneer Health Plans', coCode: '95120', feinId: '752345678' },
  { companyName: 'Lakeside Fire & Marine', coCode: '33120', feinId: '390876543' },
] as const;

export const FIRST_NAMES = ['Joe', 'Jeff', 'Maria', 'Aisha', 'Chen', 'Olivia', 'Liam', 'Noah', 'Emma', 'Sofia', 'Raj', 'Grace', 'Diego', 'Hannah', 'Yuki', 'Omar'] as const;
export const LAST_NAMES = ['Producer', 'Android', 'Smith', 'Garcia', 'Nguyen', 'Johnson', 'Patel', 'Kim', 'Brown', 'Lopez', 'Okafor', 'Miller', 'Davis', 'Wilson', 'Moore', 'Clark'] as const;
export const FIRM_WORDS = ['Acme', 'Summit', 'Keystone', 'Harbor', 'Pinnacle', 'Liberty', 'Cornerstone', 'Evergreen'] as const;
export const FIRM_SUFFIXES = ['Insurance Group', 'Underwriters Inc', 'Agency LLC', 'Brokerage', 'Risk Partners'] as const;
export const STREETS = ['S Washington Ave', 'Main St', 'Oak Dr', 'Market St', 'Elm St', 'Lakeview Rd', 'Broadway', 'Pine Ct'] as const;
export const CITIES = ['Denver', 'Springfield', 'Austin', 'Columbus', 'Madison', 'Portland', 'Richmond', 'Boise'] as const;
export const TERMINATION_REASONS = ['Not for Cause', 'Company Termination', 'Voluntary', 'License Expired'] as const;
export const REGULATORY_VALUES = {
  DISPOSITION: ['Fined', 'Cease And Desist', 'Suspended', 'Revoked'],
  ORIGIN: ['Department of Insurance', 'Self-Reported', 'Consumer Complaint'],
  REASON: ['Failure to Complete CE', 'Misrepresentation', 'Failure to Report', 'Late Renewal'],
} as const;
