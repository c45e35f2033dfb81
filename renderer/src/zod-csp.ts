// zod compiles fast parsers with `new Function` unless told not to; the console's CSP has no
// 'unsafe-eval', so the probe alone would log a violation. Imported first by main.tsx.
import { z } from 'zod';

z.config({ jitless: true });
