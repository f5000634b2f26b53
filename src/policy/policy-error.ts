import { ConfigError } from '../errors/config-error';

/** One thing wrong with a policy file, where an editor can jump to it. */
export interface PolicyProblem {
  source: string;
  /** 1-based, like editors and compilers count. */
  line: number;
  col: number;
  message: string;
}

export function formatProblem(p: PolicyProblem): string {
  return `${p.source}:${p.line}:${p.col}: ${p.message}`;
}

/**
 * A policy file that cannot be used. It is a ConfigError so that a broken file at start
 * ends the start with one line (exit 2); `problems` holds every problem found, for
 * `exportfact policy check` to print them all at once.
 */
export class PolicyError extends ConfigError {
  constructor(readonly problems: readonly PolicyProblem[]) {
    super(
      problems.length === 0
        ? 'policy is not valid'
        : `policy ${formatProblem(problems[0])}${problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''}; see exportfact policy check)` : ''}`,
    );
    this.name = 'PolicyError';
  }
}
