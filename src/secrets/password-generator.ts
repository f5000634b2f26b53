import crypto from 'node:crypto';

/** Named alphabets a manifest can ask for; anything else is taken as the literal set of characters. */
export const ALPHABETS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    alnum: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
    hex: '0123456789abcdef',
    base64url: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
    // Printable ASCII without quotes, backslash and space: safe in config files and connection strings.
    printable: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~',
  }),
);

export const MIN_LENGTH = 8;
export const MAX_LENGTH = 1024;

export function resolveAlphabet(alphabet: string): string {
  // A Map: a client's "constructor" or "__proto__" is a literal set of characters, not an inherited property.
  const chars = ALPHABETS.get(alphabet) ?? alphabet;
  return [...new Set(chars)].join('');
}

/** Uniform over the alphabet: crypto.randomInt rejects the biased tail itself. */
export function generatePassword(length: number, alphabet: string): string {
  const chars = [...resolveAlphabet(alphabet)];
  let out = '';
  for (let i = 0; i < length; i++) out += chars[crypto.randomInt(chars.length)];
  return out;
}
