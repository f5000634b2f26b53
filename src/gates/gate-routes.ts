import express from 'express';
import { BadRequestError } from '../errors/app-error';
import { callerOf } from '../http/caller';
import { methodNotAllowed } from '../http/method-not-allowed';
import { parseBody } from '../http/validate';
import { gateName, gatePruneBody, gateReport } from './gate-schemas';
import type { GateService } from './gate-service';

/** Agent-port routes: a node reports its gates (PUT one, prune the rest) and reads them back. */
export function gateRoutes(gates: GateService): express.Router {
  const r = express.Router();

  r.route('/gates')
    .get(async (req, res) => res.json({ gates: await gates.mine(callerOf(req)) }))
    .all(methodNotAllowed(['GET']));

  r.route('/gates/prune')
    .post(async (req, res) => {
      const { keep } = parseBody(gatePruneBody, req.body);
      res.json({ removed: await gates.prune(callerOf(req), keep) });
    })
    .all(methodNotAllowed(['POST']));

  r.route('/gates/:name')
    .put(async (req, res) => {
      const name = gateName.safeParse(String(req.params.name));
      if (!name.success)
        throw new BadRequestError('invalid_name', `gate name ${JSON.stringify(String(req.params.name))} ${name.error.issues[0].message}`);
      res.json(await gates.report(callerOf(req), name.data, parseBody(gateReport, req.body)));
    })
    .all(methodNotAllowed(['PUT']));

  return r;
}
