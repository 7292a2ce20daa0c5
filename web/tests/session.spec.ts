// (c) Losing the session mid-way: a token past its stored expiry (page.clock) and a token the server refuses
// both lead to the login page, and logging in brings the person back to where they were.
import { expect, test } from '@playwright/test';
import { loadWorld, loginThroughForm, openLoggedIn } from './helpers';

test('a token that expires mid-session leads to login and back', async ({ page }) => {
	const w = loadWorld();
	await page.clock.install();
	await page.goto('/ingresar?next=%2Fmis-videos');
	await loginThroughForm(page, w.owner.email);
	await expect(page).toHaveURL(/\/mis-videos$/);
	await expect(page.getByRole('heading', { level: 1, name: 'Mis videos' })).toBeVisible();
	await expect(page.locator('li.item', { hasText: w.videoTitle })).toBeVisible();

	const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('rs.session') ?? 'null'));
	const now = await page.evaluate(() => Date.now());
	expect(stored.expiresAt).toBeGreaterThan(now);

	// Jump past the stored expiry: the session clock notices and sends the person to log in again.
	await page.clock.fastForward(stored.expiresAt - now + 5_000);
	await expect(page).toHaveURL(/\/ingresar\?next=%2Fmis-videos&motivo=caducada$/);
	await expect(page.getByText('Tu sesión caducó.')).toBeVisible();
	expect(await page.evaluate(() => localStorage.getItem('rs.session'))).toBeNull();

	await loginThroughForm(page, w.owner.email);
	await expect(page).toHaveURL(/\/mis-videos$/);
	await expect(page.locator('li.item', { hasText: w.videoTitle })).toBeVisible();
});

test('a token the server refuses (401) leads to login and back', async ({ page, request }) => {
	const w = loadWorld();
	await openLoggedIn(page, request, w.owner.email, '/mis-videos?vista=1');
	await expect(page.locator('li.item', { hasText: w.videoTitle })).toBeVisible();

	// Garbage in place of the token, expiry untouched: only the server can tell.
	await page.evaluate(() => {
		const s = JSON.parse(localStorage.getItem('rs.session') ?? '{}');
		localStorage.setItem('rs.session', JSON.stringify({ ...s, token: 'basura.no-es.un-jwt' }));
	});
	const refused = page.waitForResponse((r) => r.url().endsWith('/api/videos') && r.status() === 401);
	await page.reload();
	await refused;
	await expect(page).toHaveURL(/\/ingresar\?next=%2Fmis-videos%3Fvista%3D1&motivo=rechazada$/);
	await expect(page.getByText('Tu sesión ya no es válida.')).toBeVisible();

	await loginThroughForm(page, w.owner.email);
	await expect(page).toHaveURL(/\/mis-videos\?vista=1$/);
	await expect(page.locator('li.item', { hasText: w.videoTitle })).toBeVisible();
});

test('pages that need a session send a logged-out person to login and back', async ({ page }) => {
	const w = loadWorld();
	await page.goto('/subir');
	await expect(page).toHaveURL(/\/ingresar\?next=%2Fsubir&motivo=requerida$/);
	await expect(page.getByText('Ingresa para continuar.')).toBeVisible();
	await loginThroughForm(page, w.voter.email);
	await expect(page).toHaveURL(/\/subir$/);
});
