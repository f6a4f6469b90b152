-- Reverts 0010_organizations. Rows keep their owner_id, which is who created them, so every
-- job, run, schedule, webhook and token stays with that account.
drop trigger api_token_org_required_update;
drop trigger api_token_org_required_insert;
drop trigger webhook_org_required_update;
drop trigger webhook_org_required_insert;
drop trigger schedule_org_required_update;
drop trigger schedule_org_required_insert;
drop trigger result_org_required_update;
drop trigger result_org_required_insert;
drop trigger job_org_required_update;
drop trigger job_org_required_insert;
drop index idx_api_token_org;
drop index idx_webhook_org_enabled;
drop index idx_schedule_org;
drop index idx_result_org_created;
drop index idx_job_org_enabled;
alter table api_token drop column expires_at;
alter table api_token drop column scopes;
alter table api_token drop column org_id;
alter table webhook drop column org_id;
alter table schedule drop column org_id;
alter table result drop column org_id;
alter table job drop column org_id;
drop table org_invitation;
drop table org_member;
drop table organization;
