import fs from 'node:fs';
import { ConfigError } from '../errors/config-error';
import { describeFileError } from '../files/file-errors';
import { type CompiledPolicy, compilePolicy } from './compiled-policy';

/** Largest policy file read: 500 rules fit in well under 1 MiB; more is a mistake. */
const MAX_POLICY_BYTES = 4 * 1024 * 1024;

/** Reads and compiles a policy file; throws ConfigError (PolicyError for the content) naming the file. */
export function readPolicyFile(file: string): CompiledPolicy {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_POLICY_BYTES) throw new ConfigError(`policy file ${file} is ${size} bytes; at most ${MAX_POLICY_BYTES} are read`);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(describeFileError('policy file', file, err));
  }
  return compilePolicy(text, file);
}
