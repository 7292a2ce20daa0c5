// (f) Screenshots of the main pages at 375 px and 1280 px into test-results/screenshots/<page>-<width>.png.
import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { SCREENSHOTS, fixture, loadWorld, openLoggedIn } from './helpers';

for (const width of [375, 1280]) {
	test(`main pages at ${width} px`, async ({ page, request }) => {
		const w = loadWorld();
		await page.setViewportSize({ width, height: 900 });
		const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}.png`), fullPage: true });

		await page.goto('/');
		await expect(page.locator('ul.grid li').first()).toBeVisible();
		await page.waitForLoadState('networkidle');
		await shot('showcase');

		await page.goto('/registro');
		await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
		await shot('signup');

		await openLoggedIn(page, request, w.voter.email, `/videos/${w.videoId}`);
		await expect(page.getByRole('heading', { level: 1, name: w.videoTitle })).toBeVisible();
		await expect(page.locator('.vote button, .vote a')).not.toHaveText(/Comprobando/);
		await page.waitForLoadState('networkidle');
		await shot('video');

		await page.goto(`/rankings`);
		await expect(page.getByRole('table')).toBeVisible();
		await shot('rankings');

		await openLoggedIn(page, request, w.owner.email, '/mis-videos');
		await expect(page.locator('li.item', { hasText: w.videoTitle })).toBeVisible();
		await page.waitForLoadState('networkidle');
		await shot('my-videos');

		await page.goto('/subir');
		await page.locator('#video-file').setInputFiles(fixture('lowres-720p-25s.mp4'));
		await expect(page.getByTestId('file-refused')).toBeVisible();
		await shot('upload');
	});
}
