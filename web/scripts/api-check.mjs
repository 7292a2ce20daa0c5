// Regenerates the API types into a temporary file and fails if they differ from the committed schema.d.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const web = new URL('..', import.meta.url).pathname;
const committed = join(web, 'src/lib/api/schema.d.ts');
const dir = mkdtempSync(join(tmpdir(), 'rs-api-'));
const fresh = join(dir, 'schema.d.ts');
try {
	execFileSync(join(web, 'node_modules/.bin/openapi-typescript'), ['../docs/openapi.json', '-o', fresh], {
		cwd: web,
		stdio: ['ignore', 'ignore', 'inherit']
	});
	const a = readFileSync(committed, 'utf8');
	const b = readFileSync(fresh, 'utf8');
	if (a !== b) {
		const al = a.split('\n');
		const bl = b.split('\n');
		const line = al.findIndex((l, i) => l !== bl[i]);
		console.error(
			'api:check FAILED: web/src/lib/api/schema.d.ts is stale; docs/openapi.json changed since it was generated.\n' +
				`  first difference at line ${line + 1}:\n    committed: ${al[line] ?? '<end>'}\n    fresh:     ${bl[line] ?? '<end>'}\n` +
				'  Run `npm run api` in web/, then `npm run check` to see what the change breaks.'
		);
		process.exit(1);
	}
	console.log('api:check OK: schema.d.ts matches docs/openapi.json');
} finally {
	rmSync(dir, { recursive: true, force: true });
}
