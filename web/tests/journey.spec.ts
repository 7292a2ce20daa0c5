// (a) The whole journey through the UI: sign up (and verify the address through the mailed link), log in, upload with
// progress, processing, playback, publish, a second person votes, and the city ranking shows the votes with a shared position.
import { expect, test } from '@playwright/test';
import {
	PASSWORD,
	fixture,
	loginApi,
	loginThroughForm,
	person,
	signupApi,
	uniq,
	uploadApi,
	verificationLink,
	waitProcessed,
	watchConsole
} from './helpers';

test('sign up → upload → processed → play → publish → vote → rankings with ties', async ({ page, request }) => {
	test.setTimeout(480_000);
	const problems = watchConsole(page);
	const city = `Jornada ${uniq()}`;

	// A rival of the same city with a published video (through the API, so it processes meanwhile).
	const rival = await signupApi(request, person('Camila', city));
	const rivalToken = (await loginApi(request, rival.email)).token;
	const rivalVideo = await uploadApi(request, rivalToken, fixture('ok-1080p-22s.mp4'), `Crossover ${uniq()}`, true);

	// 1. Sign up through the form (it logs in right away and says where the verification link went), then log out and
	// in again through the login form.
	const ana = person('Ana', city);
	await page.goto('/registro');
	await page.getByLabel('Nombre', { exact: true }).fill(ana.first_name);
	await page.getByLabel('Apellido').fill(ana.last_name);
	await page.getByLabel('Correo electrónico').fill(ana.email);
	await page.getByLabel('Contraseña', { exact: true }).fill(PASSWORD);
	await page.getByLabel('Repite la contraseña').fill(PASSWORD);
	await page.getByLabel('Ciudad').fill(ana.city);
	await page.getByLabel('País').fill(ana.country);
	await page.getByRole('button', { name: 'Crear cuenta' }).click();
	await expect(page.getByTestId('check-mail')).toContainText(ana.email);
	await page.getByRole('link', { name: 'Continuar' }).click();
	await expect(page).toHaveURL(/\/mis-videos$/);
	await expect(page.getByText('Todavía no has subido videos.')).toBeVisible();
	await expect(page.getByTestId('verify-notice')).toContainText(ana.email);

	await page.getByRole('button', { name: 'Salir' }).click();
	await expect(page.getByRole('link', { name: 'Ingresar' })).toBeVisible();
	await page.getByRole('link', { name: 'Ingresar' }).click();
	await loginThroughForm(page, ana.email);
	await expect(page.getByRole('button', { name: 'Salir' })).toBeVisible();

	// 2. Upload through the page, watching the progress bar.
	await page.getByRole('link', { name: 'Subir video' }).first().click();
	await expect(page).toHaveURL(/\/subir$/);
	await page.locator('#video-file').setInputFiles(fixture('ok-1080p-22s.mp4'));
	await expect(page.getByTestId('file-ok')).toBeVisible();
	await expect(page.getByText(/1920×1080/)).toBeVisible();
	const title = `Doble crossover ${uniq()}`;
	await page.getByLabel('Título').fill(title);
	await page.getByLabel(/Mantenerlo privado/).check();

	// Throttle the upload (Chromium's network emulation) so the progress is observable on a fast loopback.
	const cdp = await page.context().newCDPSession(page);
	await cdp.send('Network.enable');
	await cdp.send('Network.emulateNetworkConditions', {
		offline: false,
		latency: 0,
		downloadThroughput: -1,
		uploadThroughput: 1.5 * 1024 * 1024
	});
	await page.getByRole('button', { name: 'Subir video' }).last().click();
	const bar = page.locator('progress#upload-progress');
	await expect(bar).toBeVisible();
	await expect(page.getByRole('button', { name: 'Cancelar subida' })).toBeVisible();
	await expect(page.getByTestId('upload-percent')).toHaveText(/\d+ %/);
	await expect(page.getByTestId('upload-speed')).toHaveText(/MB\/s/);

	await expect
		.poll(async () => Number((await page.getByTestId('upload-percent').textContent())?.replace(/\D/g, '') ?? 0), {
			timeout: 30_000
		})
		.toBeGreaterThan(0);

	// 3. My videos shows it queued or processing, then processed.
	await expect(page).toHaveURL(/\/mis-videos\?nuevo=/, { timeout: 120_000 });
	await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
	const item = page.locator('li.item', { hasText: title });
	await expect(item).toBeVisible();
	await expect(item.getByTestId('status')).toHaveText(/En cola|Procesando|Listo/);
	await expect(item.getByTestId('status')).toHaveText(/Listo/, { timeout: 300_000 });
	await expect(item.getByText('Sin publicar')).toBeVisible();

	// 4. The clip plays: poster first, then currentTime advances once played (muted).
	const video = item.locator('video');
	await expect(video).toHaveAttribute('preload', 'none');
	await expect(video).toHaveAttribute('poster', /.+/);
	await video.evaluate(async (v: HTMLVideoElement) => {
		v.muted = true;
		await v.play();
	});
	await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 20_000 }).toBeGreaterThan(0.5);
	await video.evaluate((v: HTMLVideoElement) => v.pause());

	// 5. Publish; the delete button disappears.
	await item.getByRole('button', { name: 'Publicar' }).click();
	await expect(page.getByText(`«${title}» está publicado`)).toBeVisible();
	await expect(item.getByText('Publicado', { exact: true })).toBeVisible();
	await expect(item.getByRole('button', { name: /Eliminar/ })).toHaveCount(0);
	const videoUrl = await item.getByRole('link', { name: 'Ver página pública' }).getAttribute('href');
	expect(videoUrl).toMatch(/^\/videos\//);

	// Ana opens her mailed link, then votes for her rival (whose video must be processed by now).
	await page.goto(await verificationLink(ana.email));
	await expect(page.getByRole('heading', { level: 1, name: '¡Correo verificado!' })).toBeVisible();
	await waitProcessed(request, rivalToken, rivalVideo);
	await page.goto(`/videos/${rivalVideo}`);
	await page.getByRole('button', { name: 'Votar' }).click();
	await expect(page.getByRole('button', { name: '¡Votaste!' })).toBeDisabled();
	await expect(page.getByTestId('vote-count')).toHaveText('1');

	// 6. A second person signs up and votes for Ana's video on its page.
	await page.getByRole('button', { name: 'Salir' }).click();
	const bruno = person('Bruno', `Otra ${uniq()}`);
	await page.goto(videoUrl!);
	await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
	const loginLink = page.getByRole('link', { name: 'Inicia sesión para votar' });
	await expect(loginLink).toHaveAttribute('href', /\/ingresar\?next=%2Fvideos%2F/);
	await page.getByRole('link', { name: 'Registrarse' }).click();
	await page.getByLabel('Nombre', { exact: true }).fill(bruno.first_name);
	await page.getByLabel('Apellido').fill(bruno.last_name);
	await page.getByLabel('Correo electrónico').fill(bruno.email);
	await page.getByLabel('Contraseña', { exact: true }).fill(PASSWORD);
	await page.getByLabel('Repite la contraseña').fill(PASSWORD);
	await page.getByLabel('Ciudad').fill(bruno.city);
	await page.getByLabel('País').fill(bruno.country);
	await page.getByRole('button', { name: 'Crear cuenta' }).click();
	await expect(page.getByTestId('check-mail')).toContainText(bruno.email);
	await expect(page.getByRole('button', { name: 'Salir' })).toBeVisible();
	await page.goto(await verificationLink(bruno.email));
	await expect(page.getByRole('heading', { level: 1, name: '¡Correo verificado!' })).toBeVisible();
	await page.goto(videoUrl!);
	await expect(page.getByTestId('vote-count')).toHaveText('0');
	await page.getByRole('button', { name: 'Votar' }).click();
	await expect(page.getByRole('button', { name: '¡Votaste!' })).toBeDisabled();
	await expect(page.getByTestId('vote-count')).toHaveText('1');

	// 7. The city ranking: Ana and Camila both have one vote and share position 1; Ana sees her row highlighted.
	await page.getByRole('button', { name: 'Salir' }).click();
	await page.goto('/ingresar?next=' + encodeURIComponent(`/rankings?ciudad=${city}`));
	await loginThroughForm(page, ana.email);
	await expect(page).toHaveURL(/\/rankings\?ciudad=/);
	const table = page.getByRole('table');
	await expect(table.getByRole('caption')).toContainText(city);
	const anaRow = table.getByRole('row', { name: new RegExp(ana.last_name) });
	const rivalRow = table.getByRole('row', { name: new RegExp(rival.last_name) });
	await expect(anaRow).toHaveAttribute('data-tie', 'true');
	await expect(rivalRow).toHaveAttribute('data-tie', 'true');
	await expect(anaRow.locator('.pos')).toHaveText(/=\s*1/);
	await expect(rivalRow.locator('.pos')).toHaveText(/=\s*1/);
	await expect(anaRow.locator('td.col-votes')).toHaveText('1');
	await expect(anaRow).toHaveClass(/mine/);
	await expect(anaRow.getByText('Tú')).toBeVisible();
	await expect(rivalRow).not.toHaveClass(/mine/);

	// The overall ranking lists Ana with her vote too.
	await page.getByRole('link', { name: 'General' }).click();
	await expect(page.getByRole('table').getByRole('caption')).toContainText('Ranking general');

	expect(problems).toEqual([]);
});
