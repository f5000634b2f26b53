import type { Request } from 'express';
import { checkName } from '../schemas/fact-name';

/** The fact a route's path names (`:category/:name`), checked: 400 invalid_name naming the part. */
export function factParams(req: Request): { category: string; name: string } {
  return { category: checkName('category', String(req.params.category)), name: checkName('name', String(req.params.name)) };
}
