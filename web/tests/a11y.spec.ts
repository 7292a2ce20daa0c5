// (d) axe-core (WCAG 2 A and AA) on every page at 375 px and 1280 px: no serious or critical violation,
// and no horizontal scrolling.
import { expect, test } from '@playwright/test';
import { PASSWORD, audit, loadWorld, openAsStaff, openLoggedIn, person, signupApi, uniq, verificationLink, watchConsole } from './helpers';

for (const width of [375, 1280]) {
	test.describe(`at ${width} px`, () => {
		test.use({ viewport: { width, height: 900 } });

		test('public pages', async ({ page }) => {
			const w = loadWorld();
			const problems = watchConsole(page);
			await page.goto('/');
			await expect(page.locator('ul.grid li').first()).toBeVisible();
			await audit(page, 'showcase');

			await page.goto(`/?ciudad=${encodeURIComponent(w.city)}`);
			await expect(page.getByText(/1 video publicado en/)).toBeVisible();
			await audit(page, 'showcase filtered');

			await page.goto(`/videos/${w.videoId}`);
			await expect(page.getByRole('heading', { level: 1, name: w.videoTitle })).toBeVisible();
			await audit(page, 'video');

			await page.goto('/rankings');
			await expect(page.getByRole('table')).toBeVisible();
			await audit(page, 'rankings');

			await page.goto('/registro');
			await page.getByRole('button', { name: 'Crear cuenta' }).click();
			await expect(page.locator('#signup-email-error')).toBeVisible();
			await audit(page, 'signup with errors');

			await page.goto('/ingresar');
			await audit(page, 'login');

			await page.goto('/no-existe');
			await audit(page, 'not found');
			expect(problems).toEqual([]);
		});

		test('pages behind the login', async ({ page, request }) => {
			const w = loadWorld();
			const problems = watchConsole(page);
			await openLoggedIn(page, request, w.owner.email, '/mis-videos');
			await expect(page.locator('li.item', { hasText: w.videoTitle })).toBeVisible();
			await audit(page, 'my videos');

			await page.goto(`/videos/${w.videoId}`);
			await expect(page.getByRole('button', { name: 'Es tu video' })).toBeVisible();
			await audit(page, 'own video');

			await page.goto(`/rankings?ciudad=${encodeURIComponent(w.city)}`);
			await expect(page.locator('tr.mine')).toBeVisible();
			await audit(page, 'rankings with own row');

			await page.goto('/subir');
			await audit(page, 'upload');
			expect(problems).toEqual([]);
		});

		test('the report dialog, the desk’s refusal and the jury’s pages with their decision dialog', async ({ page, request }) => {
			const w = loadWorld();
			const problems = watchConsole(page);
			await openLoggedIn(page, request, w.voter.email, `/videos/${w.videoId}`);
			await page.getByRole('button', { name: 'Reportar video' }).click();
			const report = page.getByRole('dialog', { name: 'Reportar este video' });
			await expect(report).toBeVisible();
			await report.getByRole('radio', { name: 'Otro motivo' }).check();
			await report.getByRole('button', { name: 'Enviar reporte' }).click();
			await expect(report.getByText('Este campo es obligatorio.')).toBeVisible();
			await audit(page, 'report dialog with an error');
			await page.keyboard.press('Escape');
			await expect(report).toBeHidden();

			await page.goto('/jurado');
			await expect(page.getByRole('heading', { level: 1, name: 'Solo para el jurado' })).toBeVisible();
			await audit(page, 'desk refused');

			await openAsStaff(page, request, '/jurado');
			await expect(page.getByRole('heading', { level: 1, name: 'Cola de moderación' })).toBeVisible();
			await expect(page.locator('ul.queue').or(page.getByText('No hay videos por revisar.'))).toBeVisible();
			await audit(page, 'moderation queue');

			await page.goto(`/jurado/videos/${w.videoId}`);
			await expect(page.getByRole('heading', { level: 1, name: w.videoTitle })).toBeVisible();
			await audit(page, 'video review');
			await page.getByRole('button', { name: 'Ocultar' }).click();
			const hide = page.getByRole('dialog', { name: 'Ocultar el video' });
			await hide.getByRole('button', { name: 'Ocultar' }).click();
			await expect(hide.getByText('Este campo es obligatorio.')).toBeVisible();
			await audit(page, 'decision dialog with an error');
			await page.keyboard.press('Escape');
			await expect(hide).toBeHidden();

			await page.goto('/jurado/votos');
			await expect(page.getByRole('heading', { level: 1, name: 'Votos en revisión' })).toBeVisible();
			await expect(page.locator('ul.players').or(page.getByText('No hay votos en revisión.'))).toBeVisible();
			const first = page.getByRole('button', { name: /^Ver los votos de/ }).first();
			if ((await first.count()) > 0) {
				await first.click();
				await expect(page.locator('li.vote').first()).toBeVisible();
			}
			await audit(page, 'votes under review');

			await page.goto('/jurado/rondas');
			await expect(page.getByRole('heading', { level: 1, name: 'Rondas' })).toBeVisible();
			await audit(page, 'rounds');

			await page.goto('/jurado/registro');
			await expect(page.getByRole('heading', { level: 1, name: 'Registro de acciones' })).toBeVisible();
			await expect(page.locator('li.entry').first()).toBeVisible();
			await audit(page, 'audit log');
			expect(problems).toEqual([]);
		});

		test('verification: the signup’s mail notice, an unverified vote, the account notice, the link’s page', async ({ page, request }) => {
			const w = loadWorld();
			const problems = watchConsole(page);
			const city = `Accesible ${uniq()}`;

			const nora = person('Nora', city);
			await page.goto('/registro');
			await page.getByLabel('Nombre', { exact: true }).fill(nora.first_name);
			await page.getByLabel('Apellido').fill(nora.last_name);
			await page.getByLabel('Correo electrónico').fill(nora.email);
			await page.getByLabel('Contraseña', { exact: true }).fill(PASSWORD);
			await page.getByLabel('Repite la contraseña').fill(PASSWORD);
			await page.getByLabel('Ciudad').fill(nora.city);
			await page.getByLabel('País').fill(nora.country);
			await page.getByRole('button', { name: 'Crear cuenta' }).click();
			await expect(page.getByTestId('check-mail')).toBeVisible();
			await audit(page, 'signup: check your mail');

			const omar = await signupApi(request, person('Omar', city));
			await openLoggedIn(page, request, omar.email, `/videos/${w.videoId}`);
			await page.getByRole('button', { name: 'Votar' }).click();
			await expect(page.getByTestId('vote-unverified')).toBeVisible();
			await audit(page, 'unverified vote');

			await page.goto('/mis-videos');
			await expect(page.getByTestId('verify-notice')).toBeVisible();
			await audit(page, 'account notice');

			const link = await verificationLink(omar.email);
			await page.goto(link);
			await expect(page.getByRole('heading', { level: 1, name: '¡Correo verificado!' })).toBeVisible();
			await audit(page, 'link verified');

			await page.getByRole('button', { name: 'Salir' }).click();
			await page.goto(link);
			await expect(page.getByRole('heading', { level: 1, name: 'Este enlace ya no sirve' })).toBeVisible();
			await audit(page, 'link spent');

			await page.goto('/verificar');
			await expect(page.getByRole('heading', { level: 1, name: 'Falta el enlace' })).toBeVisible();
			await audit(page, 'link missing');
			expect(problems).toEqual([]);
		});
	});
}
