import express from 'express';
import { callerOf } from '../http/caller';
import { methodNotAllowed } from '../http/method-not-allowed';
import type { NodeService } from './node-service';

export function nodeRoutes(nodes: NodeService): express.Router {
  const r = express.Router();
  r.route('/nodes')
    .get(async (req, res) => res.json({ nodes: await nodes.list(callerOf(req)) }))
    .all(methodNotAllowed(['GET']));
  return r;
}
