-- Reverts 0005_web_sessions.
drop table web_session;
