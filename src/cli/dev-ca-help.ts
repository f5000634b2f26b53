import path from 'node:path';

/** What a first-time user needs after `npm start`: the exact curl lines to try. */
export function printDevCaHelp(dir: string, url: string, certname: string): void {
  const ssl = path.join(dir, 'nodes', certname);
  const tls = `--cacert ${path.join(dir, 'ca.pem')} --cert ${path.join(ssl, 'certs', `${certname}.pem`)} --key ${path.join(ssl, 'private_keys', `${certname}.pem`)}`;
  process.stderr.write(
    [
      '',
      `exportfact is listening on ${url} (development CA in ${dir}/, example nodes in ${dir}/nodes/)`,
      `Publish a fact as ${certname}:`,
      `  curl ${tls} -X PUT -H 'Content-Type: application/json' -d '{"value": "mysql://db.example.com/nova"}' ${url}/v1/facts/db/url`,
      'Read the facts:',
      `  curl ${tls} ${url}/v1/facts`,
      '',
    ].join('\n'),
  );
}
