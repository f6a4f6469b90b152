-- Reverts 0001_core: drops every core table, children first.
drop table worker;
drop table schedule;
drop table item;
drop table result;
drop table job;
drop table api_token;
drop table app_user;
