import path from 'node:path';
import express from 'express';

/** ui/ at the package root, next to dist/ (as sql/ is). */
export const UI_DIR = path.resolve(__dirname, '..', '..', '..', 'ui');

/** The deployment page and the one library it uses (cytoscape, from node_modules: no CDN, works offline). */
export function uiRoutes(): express.Router {
  const r = express.Router();
  const cytoscape = require.resolve('cytoscape/dist/cytoscape.min.js');
  r.get('/vendor/cytoscape.min.js', (_req, res) => res.type('application/javascript').sendFile(cytoscape));
  r.use(express.static(UI_DIR, { index: 'index.html', fallthrough: false, maxAge: 0 }));
  return r;
}
