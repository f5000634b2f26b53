import { z } from 'zod';

/** Ids of keyring keys: they are written into every sealed row and named in commands. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export const keyId = z.string().regex(KEY_ID_PATTERN, 'must be 1-64 letters, digits, ".", "_" or "-"');
