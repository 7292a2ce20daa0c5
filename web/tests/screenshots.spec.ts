// (f) Screenshots of the main pages at 375 px and 1280 px into test-results/screenshots/<page>-<width>.png.
import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { PASSWORD, SCREENSHOTS, fixture, loadWorld, openAsStaff, openLoggedIn, person, uniq, verificationLink } from './helpers';

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

		// After signing up: where the verification link went; then the link's page.
		const vera = person('Vera', `Pantallas ${uniq()}`);
		await page.getByLabel('Nombre', { exact: true }).fill(vera.first_name);
		await page.getByLabel('Apellido').fill(vera.last_name);
		await page.getByLabel('Correo electrónico').fill(vera.email);
		await page.getByLabel('Contraseña', { exact: true }).fill(PASSWORD);
		await page.getByLabel('Repite la contraseña').fill(PASSWORD);
		await page.getByLabel('Ciudad').fill(vera.city);
		await page.getByLabel('País').fill(vera.country);
		await page.getByRole('button', { name: 'Crear cuenta' }).click();
		await expect(page.getByTestId('check-mail')).toBeVisible();
		await shot('signup-check-mail');
		await page.goto(await verificationLink(vera.email));
		await expect(page.getByRole('heading', { level: 1, name: '¡Correo verificado!' })).toBeVisible();
		await shot('verified');
		await page.getByRole('button', { name: 'Salir' }).click();

		await openLoggedIn(page, request, w.voter.email, `/videos/${w.videoId}`);
		await expect(page.getByRole('heading', { level: 1, name: w.videoTitle })).toBeVisible();
		await expect(page.locator('.vote button, .vote a')).not.toHaveText(/Comprobando/);
		await page.waitForLoadState('networkidle');
		await shot('video');
		await page.getByRole('button', { name: 'Reportar video' }).click();
		await expect(page.getByRole('dialog', { name: 'Reportar este video' })).toBeVisible();
		await shot('report');
		await page.keyboard.press('Escape');

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

		// The jury's desk, as its staff member sees it.
		await openAsStaff(page, request, '/jurado');
		await expect(page.getByRole('heading', { level: 1, name: 'Cola de moderación' })).toBeVisible();
		await page.waitForLoadState('networkidle');
		await shot('staff-queue');
		await page.goto(`/jurado/videos/${w.videoId}`);
		await expect(page.getByRole('heading', { level: 1, name: w.videoTitle })).toBeVisible();
		await page.waitForLoadState('networkidle');
		await shot('staff-review');
		await page.goto('/jurado/registro');
		await expect(page.locator('li.entry').first()).toBeVisible();
		await shot('staff-audit');
	});
}
