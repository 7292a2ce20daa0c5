// (j) Voting rounds, the whole loop on the real stack: staff create a round for a city of this run → the rankings page
// shows it open with its time left → votes flow through the page → staff close it early → a later vote is refused with
// voting_closed → the finalists are exported as CSV and JSON → the rankings page shows the final standings, finalists
// marked. Axe at 375 and 1280 px on the pages with a round. Its own Playwright project, last of all: once a round
// exists, votes outside an open round are refused for every city.
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import {
	audit,
	fixture,
	loginApi,
	openAsStaff,
	openLoggedIn,
	person,
	signupApi,
	uniq,
	uploadApi,
	verifiedApi,
	waitProcessed,
	watchConsole
} from './helpers';

/** Axe on the page at both widths, then back to the desktop width. */
async function auditBoth(page: Page, name: string) {
	for (const width of [375, 1280]) {
		await page.setViewportSize({ width, height: 900 });
		await audit(page, `${name} at ${width} px`);
	}
}

test('a round opens, votes flow, staff close it early, a later vote is refused, the finalists are exported and shown', async ({
	page,
	request
}) => {
	test.setTimeout(400_000);
	const problems = watchConsole(page);
	const city = `Ronda ${uniq()}`;
	const name = `Fase regional ${uniq()}`;

	// Two players of the city, a published video each; three verified fans.
	const ana = await signupApi(request, person('Ana', city));
	const bruno = await signupApi(request, person('Bruno', city));
	const videos: string[] = [];
	for (const [who, title] of [
		[ana, `Mate de Ana ${uniq()}`],
		[bruno, `Triple de Bruno ${uniq()}`]
	] as const) {
		const { token } = await loginApi(request, who.email);
		const id = await uploadApi(request, token, fixture('ok-1080p-22s.mp4'), title, true);
		await waitProcessed(request, token, id);
		videos.push(id);
	}
	const [anaVideo, brunoVideo] = videos;
	const fans = [];
	for (const first of ['Ximena', 'Yago', 'Zoe']) fans.push(await verifiedApi(request, person(first, city)));

	// Staff create the round through the page: the form's own checks first, then the round.
	await openAsStaff(page, request, '/jurado/rondas');
	await expect(page.getByRole('heading', { level: 1, name: 'Rondas' })).toBeVisible();
	await page.getByLabel('Finalistas por ciudad').fill('0');
	await page.getByRole('button', { name: 'Crear ronda' }).click();
	await expect(page.locator('#round-name-error')).toHaveText('Este campo es obligatorio.');
	await expect(page.locator('#round-finalists-error')).toHaveText('Escribe un número entero de 1 a 100.');
	await expect(page.getByLabel('Nombre')).toBeFocused();
	await auditBoth(page, 'rounds form with errors');
	await page.getByLabel('Nombre').fill(name);
	await page.getByLabel('Ciudades').fill(city);
	await page.getByLabel('Finalistas por ciudad').fill('1');
	await page.getByRole('button', { name: 'Crear ronda' }).click();
	await expect(page.getByTestId('rounds-done')).toHaveText(`Ronda «${name}» creada.`);
	const item = page.locator('li.item', { hasText: name });
	await expect(item.getByTestId('round-status')).toHaveText('Abierta');
	await expect(item).toContainText(`Ciudades: ${city}`);
	await auditBoth(page, 'rounds with an open one');

	// The public sees it open, with the time left.
	await page.goto(`/rankings?ciudad=${encodeURIComponent(city)}`);
	const open = page.getByTestId('round-open');
	await expect(open.getByRole('heading', { name: `Ronda abierta: ${name}` })).toBeVisible();
	await expect(open).toContainText(/Quedan (6 días y 23 h|7 días)/);
	await auditBoth(page, 'rankings with an open round');

	// Votes flow through the page (a proof of work each: crowd.spec spent this network's hour).
	for (const [fan, video] of [
		[fans[0], anaVideo],
		[fans[1], anaVideo],
		[fans[2], brunoVideo]
	] as const) {
		await openLoggedIn(page, request, fan.email, `/videos/${video}`);
		await page.getByRole('button', { name: 'Votar' }).click();
		await expect(page.getByRole('button', { name: '¡Votaste!' })).toBeDisabled({ timeout: 60_000 });
	}

	// Staff close it early, with a reason; its standings freeze within seconds.
	await openAsStaff(page, request, '/jurado/rondas');
	await item.getByRole('button', { name: `Cerrar ahora «${name}»` }).click();
	const close = page.getByRole('dialog', { name: 'Cerrar la ronda ahora' });
	await close.getByLabel('Motivo (queda en el registro)').fill('La federación adelanta el cierre de la fase.');
	await close.getByRole('button', { name: 'Cerrar ahora' }).click();
	await expect(close).toBeHidden();
	await expect(page.getByTestId('rounds-done')).toHaveText('Ronda cerrada.');
	await expect(item.getByTestId('round-status')).toHaveText('Cerrada', { timeout: 30_000 });

	// A later vote is refused, and the button says so.
	await openLoggedIn(page, request, fans[2].email, `/videos/${anaVideo}`);
	await page.getByRole('button', { name: 'Votar' }).click();
	await expect(page.getByTestId('vote-closed')).toContainText('La votación está cerrada', { timeout: 60_000 });
	await expect(page.getByRole('button', { name: 'Votación cerrada' })).toBeDisabled();

	// The finalists, exported: Ana alone (one per city; Bruno has fewer votes).
	await openAsStaff(page, request, '/jurado/rondas');
	const csvDownload = page.waitForEvent('download');
	await item.getByRole('button', { name: `Descargar finalistas (CSV) «${name}»` }).click();
	const csv = await csvDownload;
	expect(csv.suggestedFilename()).toMatch(/^finalistas-.+\.csv$/);
	const lines = readFileSync(await csv.path(), 'utf8').trim().split(/\r?\n/);
	expect(lines[0]).toBe('ciudad,posicion,empate,jugador,votos,correo,pais,id_jugador');
	expect(lines.slice(1)).toEqual([
		[city, '1', 'no', `${ana.first_name} ${ana.last_name}`, '2', ana.email, ana.country, ana.id].join(',')
	]);
	const jsonDownload = page.waitForEvent('download');
	await item.getByRole('button', { name: `Descargar finalistas (JSON) «${name}»` }).click();
	const json = JSON.parse(readFileSync(await (await jsonDownload).path(), 'utf8'));
	expect(json.round.name).toBe(name);
	expect(json.finalists).toEqual([expect.objectContaining({ player_id: ana.id, email: ana.email, votes: 2, finalist: true })]);

	// The public rankings page: the final standings, the finalist marked.
	await page.goto(`/rankings?ciudad=${encodeURIComponent(city)}`);
	const results = page.getByTestId('round-results');
	await expect(results.getByRole('heading', { name: `Resultados finales: ${name}` })).toBeVisible();
	await expect(results.locator('tr[data-finalist]')).toHaveCount(1);
	await expect(results.locator('tr[data-finalist]')).toContainText(`${ana.first_name} ${ana.last_name}`);
	await expect(results.locator('tr[data-finalist]')).toContainText('Finalista');
	await expect(results.locator('tbody tr', { hasText: bruno.last_name })).not.toContainText('Finalista');
	await auditBoth(page, 'rankings with final standings');

	// The audit log has the round's creation and its early close with the reason.
	await openAsStaff(page, request, '/jurado/registro');
	await expect(page.locator('li.entry', { hasText: 'La federación adelanta el cierre de la fase.' })).toBeVisible();
	expect(problems).toEqual([]);
});
