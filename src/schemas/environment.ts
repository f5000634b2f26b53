import { z } from 'zod';

/** Puppet::Node::Environment.valid_name?: word characters only (and at most 64 here). */
export const ENVIRONMENT_PATTERN = /^[A-Za-z0-9_]{1,64}$/;

export const environmentProblem = (field: string, value: string): string | null =>
  ENVIRONMENT_PATTERN.test(value) ? null : `${field} ${JSON.stringify(value)} is not a Puppet environment name (1-64 letters, digits or _)`;

/** An environment in a body or query schema. */
export const environmentName = z.string().regex(ENVIRONMENT_PATTERN, 'must be a Puppet environment name (1-64 letters, digits or _)');
