// The sign-up and title checks: the spec's lengths in characters, the document's raw bounds and patterns.
import { describe, expect, it } from 'vitest';
import { checkEmail, checkField, signupRules, titleRule } from './validation';
import { t } from './i18n';

describe('checkField', () => {
	it('wants a value, spaces alone are none', () => {
		expect(checkField('', signupRules.first_name)).toBe(t.validation.required);
		expect(checkField('   \t', signupRules.first_name)).toBe(t.validation.required);
		expect(checkField('Ana', signupRules.first_name)).toBe('');
	});

	it('counts Unicode characters of the trimmed value, as the server does', () => {
		expect(checkField('x'.repeat(100), signupRules.last_name)).toBe('');
		expect(checkField(`  ${'x'.repeat(100)}  `, signupRules.last_name)).toBe('');
		expect(checkField('x'.repeat(101), signupRules.last_name)).toBe(t.validation.tooLong(100));
		// 100 emoji are 200 UTF-16 units but 100 characters.
		expect(checkField('⛹'.repeat(100), signupRules.city)).toBe('');
		expect(checkField('😀'.repeat(100), signupRules.city)).toBe('');
		expect(checkField('😀'.repeat(101), signupRules.city)).toBe(t.validation.tooLong(100));
	});

	it('takes untrimmed password bounds from the API document', () => {
		expect(signupRules.password1).toMatchObject({ min: 8, max: 128, trim: false });
		expect(checkField('corta', signupRules.password1)).toBe(t.validation.between(8, 128));
		expect(checkField('x'.repeat(8), signupRules.password1)).toBe('');
		expect(checkField('x'.repeat(128), signupRules.password2)).toBe('');
		expect(checkField('x'.repeat(129), signupRules.password2)).toBe(t.validation.between(8, 128));
		// Not trimmed: eight spaces are a password of eight characters.
		expect(checkField(' '.repeat(8), signupRules.password1)).toBe('');
		expect(checkField('  abcde', signupRules.password1)).toBe(t.validation.between(8, 128));
	});

	it('refuses control characters inside a name', () => {
		expect(checkField('Ana\u0007', signupRules.first_name)).toBe(t.validation.control);
		expect(checkField('Ana\u0085María', signupRules.first_name)).toBe(t.validation.control);
	});

	it('applies the raw length cap of the document to what is sent, spaces included', () => {
		// The trimmed title fits (200) but the body the server reads is over its 1000-character cap.
		expect(checkField(`${'x'.repeat(200)}${' '.repeat(900)}`, titleRule)).toBe(t.validation.tooLong(1000));
	});

	it('checks titles as the upload form does', () => {
		expect(checkField('Doble crossover', titleRule)).toBe('');
		expect(checkField('x'.repeat(200), titleRule)).toBe('');
		expect(checkField('x'.repeat(201), titleRule)).toBe(t.validation.tooLong(200));
	});
});

describe('checkEmail', () => {
	it('accepts ordinary addresses, trimmed', () => {
		expect(checkEmail('ana@example.com')).toBe('');
		expect(checkEmail('  ana.maria+anb@mail.example.co  ')).toBe('');
	});

	it('refuses what the server would refuse', () => {
		for (const bad of ['no-es-un-correo', 'ana@', '@example.com', 'ana@example', 'ana@@example.com', 'a,b@example.com', 'ana @example.com']) {
			expect(checkEmail(bad), bad).toBe(t.validation.email);
		}
		expect(checkEmail('   ')).toBe(t.validation.required);
	});

	it('caps the length at 254 characters', () => {
		const local = 'a'.repeat(64);
		const long = `${local}@${'b'.repeat(180)}.com`;
		expect([...long].length).toBeLessThanOrEqual(254);
		expect(checkEmail(long)).toBe('');
		const tooLong = `${local}@${'b'.repeat(200)}.com`;
		expect(checkEmail(tooLong)).toBe(t.validation.tooLong(254));
	});

	it('uses the document pattern too (the local part is at most 64 characters)', () => {
		expect(checkEmail(`${'a'.repeat(65)}@example.com`)).toBe(t.validation.email);
	});
});
