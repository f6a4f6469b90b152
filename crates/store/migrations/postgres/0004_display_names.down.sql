-- Reverts 0004_display_names.
alter table app_user drop column username;
