// (e) Keyboard: Tab reaches the skip link, the navigation and the main controls, each with a visible focus.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { PASSWORD, loadWorld, openAsStaff, openLoggedIn, person, signupApi, uniq, verificationLink } from './helpers';

/** Presses Tab until `target` (a CSS selector or a locator) has the focus; fails after `max` presses. */
async function tabTo(page: Page, target: string | Locator, max = 25) {
	const locator = typeof target === 'string' ? page.locator(target) : target;
	await locator.first().waitFor(); // the page renders after its data arrives
	for (let i = 0; i < max; i++) {
		await page.keyboard.press('Tab');
		const focused = await locator
			.evaluateAll((els) => els.some((el) => el === document.activeElement))
			.catch(() => false);
		if (focused) {
			await expectVisibleFocus(page, String(target));
			return;
		}
	}
	throw new Error(`Tab never reached ${String(target)}`);
}

async function expectVisibleFocus(page: Page, what: string) {
	const ring = await page.evaluate(() => {
		const el = document.activeElement as HTMLElement;
		const s = getComputedStyle(el);
		const r = el.getBoundingClientRect();
		return {
			outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
			visible: r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight,
			focusVisible: el.matches(':focus-visible')
		};
	});
	expect(ring, `focus ring on ${what}`).toEqual({ outline: true, visible: true, focusVisible: true });
}

for (const width of [375, 1280]) {
	test(`Tab reaches skip link, navigation and the showcase controls at ${width} px`, async ({ page }) => {
		await page.setViewportSize({ width, height: 900 });
		await page.goto('/');
		await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
		await tabTo(page, 'a.skip-link', 1);
		for (const name of ['Vitrina', 'Rankings', 'Mis videos', 'Subir video', 'Ingresar', 'Registrarse']) {
			await tabTo(page, page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name, exact: true }), 3);
		}
		await tabTo(page, '#city-filter', 3);
		await tabTo(page, 'form[role=search] button[type=submit]', 2);

		// The skip link moves focus to the main content.
		await page.goto('/rankings');
		await expect(page.getByRole('table')).toBeVisible();
		await tabTo(page, 'a.skip-link', 1);
		await page.keyboard.press('Enter');
		await expect(page.locator('main#contenido')).toBeFocused();
		await tabTo(page, 'a.scope-link', 3);
		await tabTo(page, '#ranking-city', 3);
	});
}

test('the login form works from the keyboard alone and comes back to the video to vote', async ({ page }) => {
	const w = loadWorld();
	await page.goto(`/videos/${w.videoId}`);
	await tabTo(page, page.getByRole('link', { name: 'Inicia sesión para votar' }));
	await page.keyboard.press('Enter');
	await expect(page).toHaveURL(/\/ingresar\?next=/);
	await tabTo(page, '#login-email');
	await page.keyboard.type(w.owner.email);
	await tabTo(page, '#login-password', 1);
	await page.keyboard.type(PASSWORD);
	await page.keyboard.press('Enter');
	await expect(page).toHaveURL(new RegExp(`/videos/${w.videoId}$`));
	await expect(page.getByRole('button', { name: 'Es tu video' })).toBeDisabled();
});

test('the upload and my-videos controls are reachable, the delete dialog closes with Escape', async ({ page, request }) => {
	const w = loadWorld();
	await openLoggedIn(page, request, w.owner.email, '/subir');
	await expect(page.getByRole('heading', { level: 1, name: 'Subir video' })).toBeVisible();
	await tabTo(page, '#video-file');
	await tabTo(page, '#video-title', 2);
	await tabTo(page, 'input[name=publish]', 2);
	await tabTo(page, 'button[type=submit]', 3);

	await page.goto('/mis-videos');
	await expect(page.locator('li.item').first()).toBeVisible();
	await tabTo(page, 'main a.btn[href="/subir"]');
	const deletable = page.locator('li.item button', { hasText: 'Eliminar' });
	if ((await deletable.count()) > 0) {
		await tabTo(page, 'li.item button.btn-secondary', 40);
		await page.keyboard.press('Enter');
		const dialog = page.getByRole('dialog');
		await expect(dialog).toBeVisible();
		await expect(dialog.getByRole('button', { name: 'Cancelar' })).toBeFocused();
		await page.keyboard.press('Escape');
		await expect(dialog).toBeHidden();
	}
});

test('an unverified vote’s "Reenviar correo" and the link’s page work from the keyboard', async ({ page, request }) => {
	const w = loadWorld();
	const pablo = await signupApi(request, person('Pablo', `Teclado ${uniq()}`));
	await openLoggedIn(page, request, pablo.email, `/videos/${w.videoId}`);
	await tabTo(page, page.getByRole('button', { name: 'Votar' }));
	await page.keyboard.press('Enter');
	const refusal = page.getByTestId('vote-unverified');
	await expect(refusal).toBeVisible();
	await tabTo(page, refusal.getByRole('button', { name: 'Reenviar correo' }), 3);
	await page.keyboard.press('Enter');
	await expect(refusal.getByTestId('resend-sent').or(refusal.getByTestId('resend-wait'))).toBeVisible();

	await page.goto(await verificationLink(pablo.email));
	await expect(page.getByRole('heading', { level: 1, name: '¡Correo verificado!' })).toBeVisible();
	await tabTo(page, page.getByRole('main').getByRole('link', { name: 'Ir a la vitrina' }));
	await page.keyboard.press('Enter');
	await expect(page).toHaveURL(/\/$/);
});

for (const width of [375, 1280]) {
	test(`the report dialog and the jury’s desk work from the keyboard at ${width} px`, async ({ page, request }) => {
		await page.setViewportSize({ width, height: 900 });
		const w = loadWorld();
		await openLoggedIn(page, request, w.voter.email, `/videos/${w.videoId}`);
		const open = page.getByRole('button', { name: 'Reportar video' });
		await tabTo(page, open, 30);
		await page.keyboard.press('Enter');
		const report = page.getByRole('dialog', { name: 'Reportar este video' });
		await expect(report).toBeVisible();
		await expect(report.getByRole('button', { name: 'Cancelar' })).toBeFocused();
		// The reasons are one radio group: Tab enters it (backwards, at its last), Space and the arrows choose.
		await page.keyboard.press('Shift+Tab');
		await expect(report.getByLabel('Detalles (opcional)')).toBeFocused();
		await page.keyboard.press('Shift+Tab');
		await expect(report.getByRole('radio', { name: 'Otro motivo' })).toBeFocused();
		await page.keyboard.press('Space');
		await expect(report.getByRole('radio', { name: 'Otro motivo' })).toBeChecked();
		await expect(report.getByLabel('Describe el problema')).toBeVisible();
		await page.keyboard.press('ArrowUp');
		await expect(report.getByRole('radio', { name: 'Usa imágenes de otra persona (derechos de autor)' })).toBeChecked();
		await expect(report.getByLabel('Detalles (opcional)')).toBeVisible();
		await page.keyboard.press('Escape');
		await expect(report).toBeHidden();
		await expect(open).toBeFocused();

		// Staff: the header's link, the desk's sections, a decision's dialog.
		await openAsStaff(page, request, '/');
		await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
		await tabTo(page, 'a.skip-link', 1);
		await tabTo(page, page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name: 'Jurado', exact: true }), 8);
		await page.keyboard.press('Enter');
		await expect(page).toHaveURL(/\/jurado$/);
		await tabTo(page, page.getByRole('navigation', { name: 'Secciones del jurado' }).getByRole('link', { name: 'Registro' }), 16);
		await page.goto(`/jurado/videos/${w.videoId}`);
		const hide = page.getByRole('button', { name: 'Ocultar' });
		await tabTo(page, hide, 40);
		await page.keyboard.press('Enter');
		const dialog = page.getByRole('dialog', { name: 'Ocultar el video' });
		await expect(dialog).toBeVisible();
		await expect(dialog.getByLabel('Motivo (queda en el registro)')).toBeFocused();
		await page.keyboard.press('Escape');
		await expect(dialog).toBeHidden();

		// The new round's form, field by field (not sent: a round would close voting for every other city).
		await page.goto('/jurado/rondas');
		await expect(page.getByRole('heading', { level: 1, name: 'Rondas' })).toBeVisible();
		await tabTo(page, '#round-name', 20);
		for (const field of ['#round-opens', '#round-closes', '#round-cities', '#round-finalists']) await tabTo(page, field, 10);
		await tabTo(page, 'form.new-round button[type=submit]', 2);
	});
}
