// Imported first by main.tsx, before any module builds a zod schema: the form validates with main's
// schemas (contract/profile-schema.ts), and without `jitless` zod probes `new Function` while building
// them, which a CSP without 'unsafe-eval' reports as a violation (zod copes, the console does not).
import { config } from 'zod';

config({ jitless: true });
