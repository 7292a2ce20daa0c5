// (i) The jury's desk, the whole loop on the real stack: five verified people report a video → it vanishes for the
// public (showcase and its page) while its owner sees why → a staff member restores it from the queue → its votes are
// intact; the held votes of a young-accounts burst are decided in "Votos en revisión" (one voided, the rest of the rule
// released at once); the audit log has it all.
// Non-staff get a refusal, not the desk.
import { expect, test, type APIRequestContext } from '@playwright/test';
import {
	fixture,
	loginApi,
	openAsStaff,
	openLoggedIn,
	person,
	reportApi,
	signupApi,
	uniq,
	uploadApi,
	verifiedApi,
	voteApi,
	waitProcessed,
	watchConsole
} from './helpers';

/** The public's view of a video: its votes, or null once it is out of sight. */
async function publicVotes(request: APIRequestContext, videoId: string): Promise<number | null> {
	const res = await request.get(`/api/public/videos/${videoId}`);
	if (res.status() === 404) return null;
	expect(res.status(), await res.text()).toBe(200);
	return (await res.json()).votes;
}

test('five reports hide a video, its owner sees why, staff restore it from the queue with its votes, held votes decided', async ({
	page,
	request
}) => {
	test.setTimeout(300_000);
	const problems = watchConsole(page);
	const city = `Moderación ${uniq()}`;
	const title = `Crossover en la pintura ${uniq()}`;

	const owner = await signupApi(request, person('Camila', city));
	const { token: ownerToken } = await loginApi(request, owner.email);
	const videoId = await uploadApi(request, ownerToken, fixture('ok-1080p-22s.mp4'), title, true);
	// Meanwhile, the people who vote and report: verified, so their reports count toward hiding.
	const voters = [];
	for (const name of ['Andrés', 'Beatriz', 'Carlos', 'Dolores']) voters.push(await verifiedApi(request, person(name, city)));
	const reporters = [];
	for (const name of ['Diana', 'Emilio', 'Fabiola', 'Gonzalo', 'Helena']) reporters.push(await verifiedApi(request, person(name, city)));
	await waitProcessed(request, ownerToken, videoId);

	// Young accounts of one network: two votes count, the next are held for the jury (VOTE_YOUNG_BURST, as shipped).
	const statuses = [];
	for (const voter of voters) {
		const res = await voteApi(request, (await loginApi(request, voter.email)).token, videoId);
		expect(res.status(), await res.text()).toBe(200);
		statuses.push((await res.json()).status);
	}
	expect(statuses).toEqual(['counted', 'counted', 'held', 'held']);
	expect(await publicVotes(request, videoId)).toBe(2);

	// The first report through the page: «Otro motivo» needs words, then it is sent once.
	await openLoggedIn(page, request, reporters[0].email, `/videos/${videoId}`);
	await page.getByRole('button', { name: 'Reportar video' }).click();
	const dialog = page.getByRole('dialog', { name: 'Reportar este video' });
	await expect(dialog).toBeVisible();
	await dialog.getByRole('button', { name: 'Enviar reporte' }).click();
	await expect(dialog.getByText('Elige un motivo.')).toBeVisible();
	await dialog.getByRole('radio', { name: 'Otro motivo' }).check();
	await dialog.getByRole('button', { name: 'Enviar reporte' }).click();
	await expect(dialog.getByText('Este campo es obligatorio.')).toBeVisible();
	await dialog.getByLabel('Describe el problema').fill('Es un anuncio de zapatillas, no una jugada.');
	await dialog.getByRole('button', { name: 'Enviar reporte' }).click();
	await expect(dialog).toBeHidden();
	await expect(page.getByTestId('report-done')).toHaveText('Gracias. El equipo de la federación revisará el video.');
	await expect(page.getByRole('button', { name: 'Ya reportaste este video' })).toBeDisabled();
	// Again after a reload: the server's refusal, shown as its problem.
	await page.reload();
	await page.getByRole('button', { name: 'Reportar video' }).click();
	await dialog.getByRole('radio', { name: 'No es un video de baloncesto' }).check();
	await dialog.getByRole('button', { name: 'Enviar reporte' }).click();
	await expect(page.getByTestId('report-done')).toHaveText('Ya reportaste este video. El equipo de la federación lo revisará.');
	// The owner has no report button on their own video.
	await openLoggedIn(page, request, owner.email, `/videos/${videoId}`);
	await expect(page.getByRole('button', { name: 'Es tu video' })).toBeDisabled();
	await expect(page.getByRole('button', { name: 'Reportar video' })).toHaveCount(0);

	// Four more, through the API: the fifth distinct verified account hides it at once.
	for (const [i, reporter] of reporters.slice(1).entries()) {
		const reason = ['not_basketball', 'not_basketball', 'inappropriate', 'copyright'][i];
		const res = await reportApi(request, (await loginApi(request, reporter.email)).token, videoId, reason);
		expect(res.status(), await res.text()).toBe(201);
	}

	// Gone for the public: its page, the showcase of its city.
	await expect.poll(() => publicVotes(request, videoId), { timeout: 5_000 }).toBeNull();
	await page.getByRole('button', { name: 'Salir' }).click();
	await page.goto(`/videos/${videoId}`);
	await expect(page.getByText('Este video no existe o ya no está publicado.')).toBeVisible();
	await page.goto(`/?ciudad=${encodeURIComponent(city)}`);
	await expect(page.getByText(`No hay videos publicados en ${city}.`)).toBeVisible();

	// Its owner still sees it, under review and why: on its page and in "Mis videos".
	await openLoggedIn(page, request, owner.email, `/videos/${videoId}`);
	const notice = page.getByTestId('review-notice');
	await expect(notice).toContainText('En revisión');
	await expect(notice).toContainText('No es un video de baloncesto');
	await expect(page.getByTestId('vote-count')).toHaveText('2');
	await page.goto('/mis-videos');
	await expect(page.locator('li.item', { hasText: title }).getByTestId('review-notice')).toContainText('revisa los reportes recibidos');
	// No desk for a player: neither the header's link nor the pages.
	await expect(page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name: 'Jurado' })).toHaveCount(0);
	await page.goto('/jurado');
	await expect(page.getByRole('heading', { level: 1, name: 'Solo para el jurado' })).toBeVisible();

	// Staff: the header's link, the queue's hidden videos, the review with every report and reason.
	await openAsStaff(page, request, '/');
	await page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name: 'Jurado' }).click();
	await expect(page.getByRole('heading', { level: 1, name: 'Cola de moderación' })).toBeVisible();
	await page.getByRole('navigation', { name: 'Mostrar' }).getByRole('link', { name: 'Ocultos' }).click();
	await expect(page).toHaveURL(/\/jurado\?ver=ocultos$/);
	const queued = page.locator('li.item', { hasText: title });
	await expect(queued.getByTestId('open-reports')).toHaveText('5 reportes pendientes');
	await expect(queued).toContainText('No es un video de baloncesto: 2');
	await queued.getByRole('link', { name: `Revisar «${title}»` }).click();
	await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
	await expect(page.getByTestId('visibility')).toHaveText('En revisión');
	await expect(page.getByTestId('review-votes')).toHaveText('2');
	await expect(page.getByText('«Es un anuncio de zapatillas, no una jugada.»')).toBeVisible();
	await expect(page.locator('li.report')).toHaveCount(5);
	await expect(page.getByRole('listitem').filter({ hasText: 'Ocultado por reportes' })).toBeVisible();

	// Restore, with a reason (none is refused before sending).
	await page.getByRole('button', { name: 'Restablecer' }).click();
	const restore = page.getByRole('dialog', { name: 'Restablecer el video' });
	await expect(restore).toBeVisible();
	await restore.getByRole('button', { name: 'Restablecer' }).click();
	await expect(restore.getByText('Este campo es obligatorio.')).toBeVisible();
	await restore.getByLabel('Motivo (queda en el registro)').fill('Es una jugada real: los reportes no se sostienen.');
	await restore.getByRole('button', { name: 'Restablecer' }).click();
	await expect(restore).toBeHidden();
	await expect(page.getByTestId('decision-done')).toHaveText('Video restablecido.');
	await expect(page.getByTestId('visibility')).toHaveText('Visible');
	await expect(page.getByRole('button', { name: 'Restablecer' })).toHaveCount(0);

	// Back for the public with exactly the votes it had.
	await expect.poll(() => publicVotes(request, videoId), { timeout: 5_000 }).toBe(2);
	await page.goto(`/?ciudad=${encodeURIComponent(city)}`);
	await expect(page.getByText(`1 video publicado en ${city}`)).toBeVisible();

	// The held votes, in "Votos en revisión": one voided on its own, the rest of its rule released at once.
	await page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name: 'Jurado' }).click();
	await page.getByRole('navigation', { name: 'Secciones del jurado' }).getByRole('link', { name: 'Votos en revisión' }).click();
	const player = page.locator('li.item', { hasText: `${owner.first_name} ${owner.last_name}` });
	await expect(player).toContainText('2 votos retenidos');
	await expect(player).toContainText('Ráfaga de cuentas nuevas: 2');
	await player.getByRole('button', { name: /^Ver los votos de/ }).click();
	await expect(player.locator('li.vote')).toHaveCount(2);
	await player.getByRole('button', { name: 'Anular', exact: true }).first().click();
	const voidOne = page.getByRole('dialog', { name: 'Anular el voto' });
	await voidOne.getByLabel('Motivo (queda en el registro)').fill('Cuenta creada solo para votar.');
	await voidOne.getByRole('button', { name: 'Anular' }).click();
	await expect(page.getByTestId('held-done')).toHaveText('1 de 1 votos resueltos.');
	await expect(player.locator('li.vote')).toHaveCount(1);
	await player.getByRole('button', { name: 'Liberar los 1' }).click();
	const release = page.getByRole('dialog', { name: 'Liberar todos estos votos' });
	await release.getByLabel('Motivo (queda en el registro)').fill('Cuenta verificada de un aficionado real.');
	await release.getByRole('button', { name: 'Liberar los 1' }).click();
	await expect(page.getByTestId('held-done')).toHaveText('1 de 1 votos resueltos.');
	await expect(player).toHaveCount(0);
	await expect.poll(() => publicVotes(request, videoId), { timeout: 5_000 }).toBe(3);

	// The audit log: the hiding by reports, the restore and the release, each with its reason.
	await page.getByRole('navigation', { name: 'Secciones del jurado' }).getByRole('link', { name: 'Registro' }).click();
	await expect(page.getByRole('heading', { level: 1, name: 'Registro de acciones' })).toBeVisible();
	await expect(page.locator('li.entry', { hasText: 'Es una jugada real: los reportes no se sostienen.' })).toContainText('Video restablecido');
	await expect(page.locator('li.entry', { hasText: 'Cuenta verificada de un aficionado real.' })).toContainText('Voto liberado');
	await expect(page.locator('li.entry', { hasText: 'Cuenta creada solo para votar.' })).toContainText('Voto anulado');
	expect(problems).toEqual([]);
});

test('the desk refuses people who are not staff: to the login page without a session, a refusal with one', async ({ page, request }) => {
	const problems = watchConsole(page);
	await page.goto('/jurado/registro');
	await expect(page).toHaveURL(/\/ingresar\?next=%2Fjurado%2Fregistro&motivo=requerida$/);

	const player = await signupApi(request, person('Ignacio', `Curioso ${uniq()}`));
	await openLoggedIn(page, request, player.email, '/jurado/votos');
	await expect(page.getByRole('heading', { level: 1, name: 'Solo para el jurado' })).toBeVisible();
	await expect(page.getByRole('link', { name: 'Ingresar con otra cuenta' })).toHaveAttribute('href', /\/ingresar\?next=%2Fjurado%2Fvotos/);
	// The API says the same to a player's token.
	const { token } = await loginApi(request, player.email);
	const res = await request.get('/api/staff/videos', { headers: { Authorization: `Bearer ${token}` } });
	expect(res.status()).toBe(403);
	expect((await res.json()).code).toBe('staff_only');
	expect(problems).toEqual([]);
});
