// The README's screens (docs/ui): the main pages in Debian's Chromium against a running product that
// holds the demo data set. `cargo xtask screens` starts such a product, adds the demo and runs this.
//
// Environment: WEB_BASE_URL (the API serving the app), OUT_DIR (where the PNGs go), DEMO_EMAIL and
// DEMO_PASSWORD (a demo player to log in as), LOWRES_CLIP (a 720p MP4 the upload page refuses).
import { chromium } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const base = (process.env.WEB_BASE_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const out = process.env.OUT_DIR ?? 'test-results/screens';
const email = process.env.DEMO_EMAIL;
const password = process.env.DEMO_PASSWORD;
const lowres = process.env.LOWRES_CLIP;
if (!email || !password || !lowres) {
	throw new Error('DEMO_EMAIL, DEMO_PASSWORD and LOWRES_CLIP must be set');
}
mkdirSync(out, { recursive: true });

/** The page settled: every lazy image scrolled into view and loaded, no request in flight. */
async function settle(page) {
	await page.evaluate(async () => {
		for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight) {
			window.scrollTo(0, y);
			await new Promise((done) => setTimeout(done, 100));
		}
		window.scrollTo(0, 0);
	});
	await page.waitForLoadState('networkidle');
	await page.waitForFunction(() => [...document.images].every((img) => img.complete), null, { timeout: 10_000 });
}

async function shoot(page, name, width) {
	const path = join(out, `${name}-${width}.png`);
	await page.screenshot({ path, fullPage: true });
	console.log(`    ${path}`);
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
try {
	// The most voted video: the one a visitor opens first from the rankings.
	const listed = await (await fetch(`${base}/api/public/videos?limit=100`)).json();
	const video = listed.sort((a, b) => b.votes - a.votes)[0]?.video_id;
	if (!video) {
		throw new Error('the showcase is empty: add the demo data set first');
	}
	for (const width of [375, 1280]) {
		const context = await browser.newContext({
			baseURL: base,
			viewport: { width, height: 900 },
			locale: 'es-ES',
			timezoneId: 'America/Bogota'
		});
		const page = await context.newPage();
		await page.goto('/');
		await settle(page);
		await shoot(page, 'showcase', width);
		if (width === 375) {
			await page.goto('/rankings');
			await page.getByRole('table').waitFor();
			await settle(page);
			await shoot(page, 'rankings', width);
		} else {
			await page.goto('/ingresar');
			await page.getByLabel('Correo electrónico').fill(email);
			await page.getByLabel('Contraseña', { exact: true }).fill(password);
			await page.getByRole('button', { name: 'Ingresar', exact: true }).click();
			await page.waitForURL((url) => !url.pathname.startsWith('/ingresar'));
			await page.goto(`/videos/${video}`);
			await page.getByRole('heading', { level: 1 }).waitFor();
			await settle(page);
			// Headless Chromium draws a loading ring over a player that has fetched nothing (the page
			// preloads none): let it read the clip's start, as a viewer's browser does on play.
			await page.evaluate(() => document.querySelectorAll('video').forEach((v) => ((v.preload = 'auto'), v.load())));
			await page.waitForFunction(() => [...document.querySelectorAll('video')].every((v) => v.readyState >= 2), null, {
				timeout: 15_000
			});
			await shoot(page, 'video', width);
			await page.goto('/mis-videos');
			await settle(page);
			await shoot(page, 'my-videos', width);
			await page.goto('/subir');
			await page.locator('#video-file').setInputFiles(lowres);
			await page.getByTestId('file-refused').waitFor();
			await shoot(page, 'upload', width);
		}
		await context.close();
	}
} finally {
	await browser.close();
}
