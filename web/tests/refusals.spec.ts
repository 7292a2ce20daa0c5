// (b) Refusals: files refused in the browser before any upload, a file only the server can judge, voting twice,
// voting for one's own video, no delete for published videos, sign-up checks, and the login throttle's proof of work.
import { expect, test } from '@playwright/test';
import { PASSWORD, fixture, loadWorld, loginApi, openLoggedIn, person, signupApi, uniq, uploadApi, watchConsole } from './helpers';

test.describe('upload refusals', () => {
	test('too short and too low clips are refused in the browser, nothing is sent', async ({ page, request }) => {
		const w = loadWorld();
		const uploads: string[] = [];
		page.on('request', (r) => {
			if (r.url().includes('/api/videos/upload')) uploads.push(r.method());
		});
		await openLoggedIn(page, request, w.voter.email, '/subir');
		await expect(page.getByRole('heading', { level: 1, name: 'Subir video' })).toBeVisible();

		await page.locator('#video-file').setInputFiles(fixture('short-1080p-10s.mp4'));
		const refused = page.getByTestId('file-refused');
		await expect(refused).toContainText('debe durar al menos 20 segundos');
		await expect(refused).toContainText('10,0 s');
		await page.getByRole('button', { name: 'Subir video' }).last().click();
		await expect(page.locator('progress')).toHaveCount(0);

		await page.locator('#video-file').setInputFiles(fixture('lowres-720p-25s.mp4'));
		await expect(refused).toContainText('1280×720');
		await expect(refused).toContainText('al menos 1080 px');
		await page.getByRole('button', { name: 'Subir video' }).last().click();
		await expect(page.locator('progress')).toHaveCount(0);

		await page.waitForTimeout(500);
		expect(uploads).toEqual([]);
	});

	test('a file the browser cannot read is sent and the server says why it is refused', async ({ page, request }) => {
		const w = loadWorld();
		await openLoggedIn(page, request, w.voter.email, '/subir');
		await page.locator('#video-file').setInputFiles(fixture('roto.mp4'));
		await expect(page.getByTestId('file-unreadable')).toContainText('no pudo leer este archivo');
		await page.getByLabel('Título').fill('Archivo dañado');
		// The upload goes in parts; the server judges the file when the session is completed.
		const answer = page.waitForResponse((r) => /\/api\/videos\/uploads\/[^/]+\/complete$/.test(r.url()));
		await page.getByRole('button', { name: 'Subir video' }).last().click();
		const res = await answer;
		expect(res.status()).toBe(400);
		const problem = await res.json();
		expect(problem.code).toBe('invalid_video');
		await expect(page.getByTestId('upload-error')).toContainText(problem.detail);
		await expect(page).toHaveURL(/\/subir$/);
	});
});

test.describe('upload cancel', () => {
	test('an upload in progress can be cancelled and leaves nothing behind', async ({ page, request }) => {
		const w = loadWorld();
		const { token } = await loginApi(request, w.voter.email);
		const mine = async () =>
			(await (await request.get('/api/videos', { headers: { Authorization: `Bearer ${token}` } })).json()).length;
		const before = await mine();

		await openLoggedIn(page, request, w.voter.email, '/subir');
		const cdp = await page.context().newCDPSession(page);
		await cdp.send('Network.enable');
		await cdp.send('Network.emulateNetworkConditions', {
			offline: false,
			latency: 0,
			downloadThroughput: -1,
			uploadThroughput: 512 * 1024
		});
		await page.locator('#video-file').setInputFiles(fixture('ok-1080p-22s.mp4'));
		await expect(page.getByTestId('file-ok')).toBeVisible();
		await page.getByRole('button', { name: 'Subir video' }).last().click();
		await expect(page.locator('progress#upload-progress')).toBeVisible();
		await expect(page.getByTestId('upload-speed')).toHaveText(/[1-9]\d*(,\d)? MB\/s|0,[1-9] MB\/s/);
		await page.getByRole('button', { name: 'Cancelar subida' }).click();
		await expect(page.getByText('Subida cancelada.')).toBeVisible();
		await expect(page.locator('progress')).toHaveCount(0);
		await expect(page).toHaveURL(/\/subir$/);
		expect(await mine()).toBe(before);
	});
});

test.describe('votes', () => {
	test('voting twice: the second attempt says "Ya votaste"', async ({ page, context, request }) => {
		const w = loadWorld();
		const problems = watchConsole(page);
		await openLoggedIn(page, request, w.voter.email, `/videos/${w.videoId}`);
		// A second tab opened before the vote still offers the button; the server refuses its vote.
		const other = await context.newPage();
		await other.goto(`/videos/${w.videoId}`);
		await expect(other.getByRole('button', { name: 'Votar' })).toBeEnabled();

		const before = Number(await page.getByTestId('vote-count').textContent());
		await page.getByRole('button', { name: 'Votar' }).click();
		await expect(page.getByRole('button', { name: '¡Votaste!' })).toBeDisabled();
		await expect(page.getByTestId('vote-count')).toHaveText(String(before + 1));

		await other.getByRole('button', { name: 'Votar' }).click();
		await expect(other.getByRole('button', { name: 'Ya votaste' })).toBeDisabled();

		await page.reload();
		await expect(page.getByRole('button', { name: 'Ya votaste' })).toBeDisabled();
		await expect(page.getByText('Solo se puede votar una vez por video.')).toBeVisible();
		expect(problems).toEqual([]);
	});

	test('one cannot vote for one’s own video', async ({ page, request }) => {
		const w = loadWorld();
		await openLoggedIn(page, request, w.owner.email, `/videos/${w.videoId}`);
		await expect(page.getByRole('button', { name: 'Es tu video' })).toBeDisabled();
		await expect(page.getByRole('button', { name: 'Votar' })).toHaveCount(0);
	});

	test('logged out, the button leads to the login page and back', async ({ page, request }) => {
		const w = loadWorld();
		await page.goto(`/videos/${w.videoId}`);
		await page.getByRole('link', { name: 'Inicia sesión para votar' }).click();
		await expect(page).toHaveURL(/\/ingresar\?next=%2Fvideos%2F/);
		await page.getByLabel('Correo electrónico').fill(w.owner.email);
		await page.getByLabel('Contraseña', { exact: true }).fill(PASSWORD);
		await page.getByRole('button', { name: 'Ingresar', exact: true }).click();
		await expect(page).toHaveURL(new RegExp(`/videos/${w.videoId}$`));
		await expect(page.getByRole('button', { name: 'Es tu video' })).toBeDisabled();
		void request;
	});
});

test.describe('my videos', () => {
	test('a published video offers no delete; an unpublished one is deleted after confirming', async ({ page, request }) => {
		const w = loadWorld();
		const { token } = await loginApi(request, w.owner.email);
		const title = `Para borrar ${uniq()}`;
		await uploadApi(request, token, fixture('ok-1080p-22s.mp4'), title, false);

		await openLoggedIn(page, request, w.owner.email, '/mis-videos');
		const published = page.locator('li.item', { hasText: w.videoTitle });
		await expect(published.getByText('Publicado', { exact: true })).toBeVisible();
		await expect(published.getByRole('button', { name: /Eliminar/ })).toHaveCount(0);
		await expect(published.getByText('Publicado: ya no se puede eliminar.')).toBeVisible();

		const draft = page.locator('li.item', { hasText: title });
		await expect(draft.getByText('Sin publicar')).toBeVisible();
		await draft.getByRole('button', { name: /Eliminar/ }).click();
		const dialog = page.getByRole('dialog', { name: 'Eliminar video' });
		await expect(dialog).toBeVisible();
		await expect(dialog).toContainText(title);
		await dialog.getByRole('button', { name: 'Cancelar' }).click();
		await expect(dialog).toBeHidden();
		await expect(draft).toBeVisible();

		await draft.getByRole('button', { name: /Eliminar/ }).click();
		await dialog.getByRole('button', { name: 'Sí, eliminar' }).click();
		await expect(page.getByText(`«${title}» se eliminó.`)).toBeVisible();
		await expect(page.locator('li.item', { hasText: title })).toHaveCount(0);
	});
});

test.describe('accounts', () => {
	test('sign-up checks in the browser and shows the server’s refusal next to its field', async ({ page }) => {
		const w = loadWorld();
		const signups: string[] = [];
		page.on('request', (r) => {
			if (r.url().includes('/api/auth/signup')) signups.push(r.url());
		});
		await page.goto('/registro');
		await page.getByRole('button', { name: 'Crear cuenta' }).click();
		await expect(page.getByLabel('Nombre', { exact: true })).toHaveAttribute('aria-invalid', 'true');
		await expect(page.getByLabel('Nombre', { exact: true })).toBeFocused();
		await expect(page.locator('#signup-first_name-error')).toHaveText('Este campo es obligatorio.');

		await page.getByLabel('Nombre', { exact: true }).fill('   ');
		await page.getByLabel('Apellido').fill('x'.repeat(101));
		await page.getByLabel('Correo electrónico').fill('no-es-un-correo');
		await page.getByLabel('Contraseña', { exact: true }).fill('corta');
		await page.getByLabel('Repite la contraseña').fill('otra');
		await page.getByLabel('Ciudad').fill('Cali');
		await page.getByLabel('País').fill('Colombia');
		await page.getByRole('button', { name: 'Crear cuenta' }).click();
		await expect(page.locator('#signup-first_name-error')).toHaveText('Este campo es obligatorio.');
		await expect(page.locator('#signup-last_name-error')).toHaveText('Máximo 100 caracteres.');
		await expect(page.locator('#signup-email-error')).toContainText('correo válido');
		await expect(page.locator('#signup-password1-error')).toHaveText('Debe tener entre 8 y 128 caracteres.');
		await expect(page.locator('#signup-password2-error')).toHaveText('Las contraseñas no coinciden.');
		await expect(page.locator('#signup-city-error')).toHaveCount(0);
		expect(signups).toEqual([]);

		// Everything valid but the email is taken: the server's detail appears under the email field.
		await page.getByLabel('Nombre', { exact: true }).fill('Lucía');
		await page.getByLabel('Apellido').fill('Prueba');
		await page.getByLabel('Correo electrónico').fill(w.owner.email.toUpperCase());
		await page.getByLabel('Contraseña', { exact: true }).fill(PASSWORD);
		await page.getByLabel('Repite la contraseña').fill(PASSWORD);
		const answer = page.waitForResponse((r) => r.url().includes('/api/auth/signup'));
		await page.getByRole('button', { name: 'Crear cuenta' }).click();
		const res = await answer;
		expect(res.status()).toBe(400);
		const problem = await res.json();
		expect(problem.code).toBe('email_taken');
		await expect(page.locator('#signup-email-error')).toHaveText(problem.detail);
		await expect(page.getByLabel('Correo electrónico')).toBeFocused();
	});

	test('past five wrong passwords the form proves its work: a wrong one is still refused, the right one gets in', async ({ page, request }) => {
		const problems = watchConsole(page);
		const who = await signupApi(request, person('Tomás', `Umbral ${uniq()}`));
		const logins: { status: number; proof: boolean }[] = [];
		page.on('response', (r) => {
			if (r.url().endsWith('/api/auth/login')) logins.push({ status: r.status(), proof: r.request().headers()['altcha'] !== undefined });
		});
		const attempt = async (password: string) => {
			await page.getByLabel('Correo electrónico').fill(who.email);
			await page.getByLabel('Contraseña', { exact: true }).fill(password);
			await page.getByRole('button', { name: 'Ingresar', exact: true }).click();
		};
		await page.goto('/ingresar?next=%2Fmis-videos');
		const error = page.getByTestId('login-error');
		// LOGIN_MAX_FAILURES_PER_EMAIL (5, as shipped) failures are refused as such.
		for (let i = 0; i < 5; i++) {
			await attempt(`incorrecta-${i}`);
			await expect.poll(() => logins.length).toBe(i + 1);
			await expect(error).toContainText('incorrectos');
		}
		expect(logins).toEqual(Array(5).fill({ status: 401, proof: false }));

		// Past them a login needs a proof of work: the widget solves the challenge and the login goes again, no lockout.
		await attempt('incorrecta-5');
		await expect.poll(() => logins.length).toBe(7);
		expect(logins.slice(5)).toEqual([
			{ status: 429, proof: false },
			{ status: 401, proof: true }
		]);
		await expect(error).toContainText('incorrectos');
		await expect(page.getByRole('button', { name: 'Ingresar', exact: true })).toBeEnabled();

		await attempt(PASSWORD);
		await expect(page).toHaveURL(/\/mis-videos$/);
		expect(logins.slice(7)).toEqual([
			{ status: 429, proof: false },
			{ status: 200, proof: true }
		]);
		expect(problems).toEqual([]);
	});
});
