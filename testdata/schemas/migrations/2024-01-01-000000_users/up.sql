CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL);
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
ALTER TABLE users ADD CONSTRAINT email_length CHECK (char_length(email) < 320);
