-- Two-factor sign-in with TOTP (RFC 6238), recovery codes, and the server-wide settings table.

-- The confirmed secret (hex; NULL when not enrolled), a secret shown but not yet confirmed, and
-- the last step whose code was accepted (a code is good once).
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- Single-use recovery codes, stored by their sha256.
CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id);

-- The second sign-in step: a password was right, a code is still owed. Stored by the sha256 of
-- the token the form carries; short-lived.
CREATE TABLE mfa_challenges (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Server-wide settings an admin changes on a page (e.g. require_admin_mfa = 'true').
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
