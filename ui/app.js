// The deployment picture, from GET /admin/v1/graph, redrawn as it changes. The admin token, if
// any, comes in the address's fragment (#token=...): a fragment is never sent to a server, so
// it reaches no log; it is taken out of the address bar at once and kept in memory only.

(() => {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  const environment = params.get('environment') || '';
  history.replaceState(null, '', location.pathname + (environment ? `#environment=${encodeURIComponent(environment)}` : ''));

  const POLL_MS = Number(params.get('poll_ms')) || 2000;
  const COLORS = { waiting: '#e65100', satisfied: '#2e7d32', stale: '#9e9e9e', conflict: '#c62828' };
  /** Above this many nodes the picture groups nodes by role: a graph of thousands is unreadable. */
  const GROUP_ABOVE = 150;
  const $ = (id) => document.getElementById(id);
  let cy;
  let shown = '';

  function text(value) {
    return document.createTextNode(value == null ? '' : String(value));
  }
  function row(cells, attributes = {}) {
    const tr = document.createElement('tr');
    for (const [k, v] of Object.entries(attributes)) tr.setAttribute(k, v);
    for (const c of cells) {
      const td = document.createElement('td');
      if (c && typeof c === 'object') {
        td.className = c.className;
        td.appendChild(text(c.text));
      } else td.appendChild(text(c));
      tr.appendChild(td);
    }
    return tr;
  }
  function fill(id, rows) {
    const body = $(id).querySelector('tbody') || $(id);
    body.replaceChildren(...rows);
  }

  async function poll() {
    try {
      const res = await fetch(`/admin/v1/graph${environment ? `?environment=${encodeURIComponent(environment)}` : ''}`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        cache: 'no-store',
      });
      if (res.status === 401 || res.status === 403) {
        const body = await res.json().catch(() => ({}));
        status(
          `not allowed: ${body.error ? body.error.message : res.status} (open the page with #token=… of a token with scope graph:read, or an admin certificate)`,
        );
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const graph = await res.json();
      status(null);
      const fingerprint = JSON.stringify({ ...graph, generated_at: 0 });
      if (fingerprint !== shown) {
        shown = fingerprint;
        render(graph);
      }
    } catch (err) {
      status(`broker unreachable (${err.message}); retrying every ${POLL_MS / 1000} s`);
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  function status(problem) {
    $('connection').hidden = !problem;
    $('connection').textContent = problem || '';
  }

  function render(g) {
    $('environment').textContent = `· ${g.environment}`;
    const waiting = g.waits.length;
    $('summary').textContent = waiting
      ? `${waiting} gate${waiting === 1 ? '' : 's'} waiting · ${g.nodes.length} nodes · ${g.facts.length} facts`
      : `everything satisfied · ${g.nodes.length} nodes · ${g.facts.length} facts`;
    $('summary').dataset.waiting = String(waiting);

    fill(
      'waits',
      g.waits.map((w) =>
        row(
          [
            w.certname,
            w.role || '',
            w.gate,
            w.missing.map((m) => `${m.fact}${m.min > 1 ? ` (${m.have} of ${m.min})` : ''}`).join(', '),
            w.missing.map((m) => (m.nobody_exports ? 'nobody exports it' : m.exporters.join(' '))).join('; '),
            w.since,
          ],
          { 'data-node': w.certname, 'data-depth': String(w.depth) },
        ),
      ),
    );
    fill(
      'edges',
      g.edges.map((e) =>
        row([e.to, e.fact, e.from || 'nobody', { text: e.state, className: `state ${e.state}` }], {
          'data-to': e.to,
          'data-fact': e.fact,
          'data-from': e.from || '',
          'data-state': e.state,
        }),
      ),
    );
    $('timeline').replaceChildren(
      ...g.timeline.map((t) => {
        const li = document.createElement('li');
        li.appendChild(text(`${t.opened_at}  ${t.certname}: ${t.gate} opened`));
        return li;
      }),
    );
    fill(
      'secrets',
      g.secrets.map((s) => row([`${s.fact} (${s.exporter})`, s.current_version, s.nodes_current, s.nodes_behind.join(' ') || '—'])),
    );
    draw(g);
  }

  /** roles/nodes → facts → the nodes waiting on them, coloured by the need's state. */
  function draw(g) {
    if (typeof cytoscape !== 'function') return;
    const group = g.nodes.length > GROUP_ABOVE;
    const id = (certname) => {
      if (!group) return `node:${certname}`;
      const n = g.nodes.find((x) => x.certname === certname);
      return `role:${n?.role || 'no role'}`;
    };
    const elements = new Map();
    const add = (el) => elements.set(el.data.id, el);
    for (const n of g.nodes) {
      const nid = id(n.certname);
      add({
        data: { id: nid, label: group ? nid.slice(5) : `${n.certname}${n.role ? `\n(${n.role})` : ''}`, kind: 'node', state: n.state },
      });
    }
    for (const f of g.facts) add({ data: { id: `fact:${f.fact}`, label: f.fact, kind: 'fact' } });
    for (const f of g.facts) {
      for (const e of f.exporters) {
        const from = e.certname === '@broker' ? 'node:@broker' : id(e.certname);
        if (!elements.has(from)) add({ data: { id: from, label: e.certname, kind: 'node', state: e.state } });
        add({
          data: {
            id: `x:${from}>${f.fact}`,
            source: from,
            target: `fact:${f.fact}`,
            kind: 'export',
            state: e.state === 'active' ? 'satisfied' : 'stale',
          },
        });
      }
    }
    for (const e of g.edges)
      add({ data: { id: `n:${e.fact}>${id(e.to)}`, source: `fact:${e.fact}`, target: id(e.to), kind: 'need', state: e.state } });
    const style = [
      {
        selector: 'node[kind = "node"]',
        style: {
          label: 'data(label)',
          'text-wrap': 'wrap',
          'font-size': 10,
          'background-color': '#546e7a',
          shape: 'round-rectangle',
          width: 'label',
          height: 'label',
          padding: 6,
          color: '#fff',
          'text-valign': 'center',
        },
      },
      { selector: 'node[state != "active"][kind = "node"]', style: { 'background-color': '#bdbdbd' } },
      {
        selector: 'node[kind = "fact"]',
        style: {
          label: 'data(label)',
          'font-size': 10,
          'background-color': '#eceff1',
          'border-width': 1,
          'border-color': '#90a4ae',
          shape: 'ellipse',
          width: 'label',
          height: 'label',
          padding: 5,
        },
      },
      { selector: 'edge', style: { 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', width: 2 } },
      ...Object.entries(COLORS).map(([state, color]) => ({
        selector: `edge[state = "${state}"]`,
        style: { 'line-color': color, 'target-arrow-color': color },
      })),
      { selector: 'edge[kind = "need"][state = "waiting"]', style: { 'line-style': 'dashed' } },
    ];
    if (cy) cy.destroy();
    cy = cytoscape({
      container: $('graph'),
      elements: [...elements.values()],
      style,
      layout: { name: 'breadthfirst', directed: true, spacingFactor: 1.1 },
    });
  }

  poll();
})();
