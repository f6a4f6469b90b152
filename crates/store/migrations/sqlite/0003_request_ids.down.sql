-- Reverts 0003_request_ids.
alter table webhook_delivery drop column request_id;
alter table result drop column request_id;
