-- An optional display name of an account (the earlier API's `username`), 1 to 100 characters
-- when set; accounts still log in with their e-mail address.
alter table app_user add column username text;
