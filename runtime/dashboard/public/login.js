// The login form: trades the token for a session cookie (HttpOnly, SameSite=Strict), then loads the app.
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  const button = event.target.querySelector("button");
  button.disabled = true;
  error.hidden = true;
  try {
    const response = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: document.getElementById("token").value }),
    });
    if (response.ok) {
      location.reload();
      return;
    }
    const body = await response.json().catch(() => ({}));
    error.textContent = body.error || `login failed (${response.status})`;
    error.hidden = false;
  } catch (e) {
    error.textContent = `cannot reach the host: ${e.message}`;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});
