import { AppError } from './app-error';

/**
 * A sealed value this broker cannot open: a key it lacks, a wrong key, or a row altered or
 * moved. A broker-side fault, not the client's: the client is told only that; the log gets
 * `logDetail` (which row and key), never a byte of the value.
 */
export class SecretUndecryptableError extends AppError {
  constructor(readonly logDetail: string) {
    super(500, 'secret_undecryptable', 'the secret cannot be decrypted by this broker; see the broker log');
  }
}
