// Resumable uploads in Chromium: the network goes away mid-upload and comes back, and a reload mid-upload followed by
// the same file picked again; either way the parts already sent are not sent again.
import { expect, test, type Page } from '@playwright/test';
import { fixture, openLoggedIn, person, signupApi, uniq } from './helpers';

const FILE = 'ok-1080p-22s-21mb.mp4';
const PARTS = 5;

/**
 * Counts the part PUTs per part number, and which parts the page saw answered 200. A part whose
 * answer the cut (or the reload) lost may be stored without the page seeing it: the upload's
 * session then says so, and it is not sent again.
 */
function watchParts(page: Page) {
	const sent = new Map<number, number>();
	const stored = new Set<number>();
	const number = (url: string) => Number(new URL(url).pathname.split('/').pop());
	page.on('request', (r) => {
		if (r.method() === 'PUT' && r.url().includes('/parts/')) sent.set(number(r.url()), (sent.get(number(r.url())) ?? 0) + 1);
	});
	page.on('requestfinished', async (r) => {
		if (r.method() === 'PUT' && r.url().includes('/parts/') && (await r.response())?.status() === 200) stored.add(number(r.url()));
	});
	return { sent, stored, number };
}

/** The upload completed, so the server holds every part; each was sent at least once. */
function expectEveryPartSent(parts: ReturnType<typeof watchParts>) {
	for (let part = 1; part <= PARTS; part++) expect(parts.sent.get(part) ?? 0, `part ${part} was sent`).toBeGreaterThan(0);
}

async function startUpload(page: Page) {
	await page.locator('#video-file').setInputFiles(fixture(FILE));
	await expect(page.getByTestId('file-ok')).toBeVisible();
	await page.getByLabel('Título').fill(`Sin cobertura ${uniq()}`);
	await page.getByRole('button', { name: 'Subir video' }).last().click();
}

test('the network goes offline mid-upload and back: the upload resumes without starting again', async ({ page, context, request }) => {
	const player = await signupApi(request, person('Sinred', `Red ${uniq()}`));
	await openLoggedIn(page, request, player.email, '/subir');
	const parts = watchParts(page);
	let cut = false;
	await page.route('**/api/videos/uploads/*/parts/*', async (route) => {
		if (!cut && parts.number(route.request().url()) === 4) {
			cut = true;
			await context.setOffline(true);
			await route.abort('internetdisconnected');
			return;
		}
		await route.continue();
	});
	await startUpload(page);
	await expect(page.getByTestId('upload-offline')).toBeVisible();
	const storedBefore = new Set(parts.stored);
	await expect(page.locator('progress#upload-progress')).toBeVisible();
	await context.setOffline(false);
	await expect(page).toHaveURL(/\/mis-videos\?nuevo=/, { timeout: 60_000 });

	expectEveryPartSent(parts);
	for (const part of storedBefore) expect(parts.sent.get(part), `part ${part} was stored before the cut`).toBe(1);
	const total = [...parts.sent.values()].reduce((a, b) => a + b, 0);
	// Only the parts in flight when the network went (three at most) went twice.
	expect(total).toBeLessThanOrEqual(PARTS + 3);
});

test('a reload mid-upload, then the same file picked again, sends only the parts still missing', async ({ page, request }) => {
	const player = await signupApi(request, person('Recarga', `Red ${uniq()}`));
	await openLoggedIn(page, request, player.email, '/subir');
	const parts = watchParts(page);
	let held = false;
	await page.route('**/api/videos/uploads/*/parts/*', async (route) => {
		if (!held && parts.number(route.request().url()) === 4) {
			held = true;
			await route.abort('connectionreset');
			return;
		}
		await route.continue();
	});
	await startUpload(page);
	await expect.poll(() => held).toBe(true);
	await page.reload();
	await page.unroute('**/api/videos/uploads/*/parts/*');
	const storedBefore = new Set(parts.stored);
	expect(storedBefore.size).toBeGreaterThan(0);

	await startUpload(page);
	await expect(page).toHaveURL(/\/mis-videos\?nuevo=/, { timeout: 60_000 });
	expectEveryPartSent(parts);
	for (const part of storedBefore) expect(parts.sent.get(part), `part ${part} was stored before the reload`).toBe(1);
	await expect(page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('rising-stars:upload:')))).resolves.toEqual([]);
});
