// The login page (#/login?next=...).

import { ApiError, paths, post } from './api.js';
import { clearBanner, field, fill, h, showError } from './dom.js';

export function render(main, ctx) {
  const user = h('input', { id: 'login-username', name: 'username', type: 'text', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', id: 'login-submit', class: 'btn btn-primary btn-wide', text: 'Sign in' });
  const error = h('p', { id: 'login-error', class: 'form-error', hidden: true, role: 'alert' });
  const form = h('form', { id: 'login-form', class: 'card login-card' },
    h('h1', { text: 'Sign in to openrec' }),
    field('User name', user), field('Password', pass), error, submit);
  fill(main, h('div', { id: 'page-login', class: 'page page-login' }, form));
  user.focus();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    try {
      const res = await post(paths.login(), { username: user.value.trim(), password: pass.value }, { allow401: true });
      clearBanner();
      ctx.signedIn(res);
    } catch (err) {
      pass.value = '';
      pass.focus();
      if (err instanceof ApiError && err.status === 401) {
        error.textContent = err.detail || 'Wrong user name or password.';
        error.hidden = false;
      } else {
        showError(err, 'Sign in');
      }
    } finally {
      submit.disabled = false;
    }
  });
}
