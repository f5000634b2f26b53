/** A start-up problem the operator must fix; printed as one line, then the process exits 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
