import { z } from 'zod';
import { factName } from '../schemas/fact-name';

/** A gate's name as the module gives it (`role::keystone`): printable ASCII, no control characters. */
export const gateName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[ -~]+$/, 'must be 1-128 printable ASCII characters');

/** One thing a gate needs: a fact, exported by at least `min` nodes (per-node facts). */
export const requirement = z.strictObject({ category: factName, name: factName, min: z.int().min(1).max(10_000).default(1) });
export type Requirement = z.infer<typeof requirement>;

/** What a node's run reports of one gate: names only, never a value. */
export const gateReport = z.strictObject({
  open: z.boolean(),
  requires: z.array(requirement).max(100),
  missing: z.array(requirement).max(100).default([]),
});
export type GateReport = z.infer<typeof gateReport>;

export const gatePruneBody = z.strictObject({ keep: z.array(gateName).max(10_000) });
