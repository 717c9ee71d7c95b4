# What an operator reads after deploying, each on its own (a whole-module output is left out of
# an apply that targets some resources only); every other output in partner_data.

output "purge_endpoint_url" {
  description = "URL partners POST purge requests to."
  value       = module.partner_data.purge_endpoint_url
}

output "purge_status_url" {
  description = "URL partners POST a purge job's status requests to."
  value       = module.partner_data.purge_status_url
}

output "purge_api_document" {
  description = "The purge API's OpenAPI document with this stack's URL, for partners: terraform output -raw purge_api_document > openapi.json"
  value       = module.partner_data.purge_api_document
}

output "purge_rest_api_id" {
  description = "ID of the purge REST API."
  value       = module.partner_data.purge_rest_api_id
}

output "purge_stage_name" {
  description = "Stage of the purge endpoint."
  value       = module.partner_data.purge_stage_name
}

output "data_bucket_name" {
  description = "Bucket the partner data is written to."
  value       = module.partner_data.data_bucket_name
}

output "refresh_function_name" {
  description = "The refresh function (invoke it with a date or a range to backfill)."
  value       = module.partner_data.refresh_function_name
}

output "refresh_function_arn" {
  description = "ARN of the refresh function."
  value       = module.partner_data.refresh_function_arn
}

output "refresh_schedule_name" {
  description = "The daily schedule."
  value       = module.partner_data.refresh_schedule_name
}

output "purge_function_name" {
  description = "The purge function behind the endpoint."
  value       = module.partner_data.purge_function_name
}

output "purge_function_arn" {
  description = "ARN of the purge function."
  value       = module.partner_data.purge_function_arn
}

output "purge_worker_function_name" {
  description = "The purge job's worker."
  value       = module.partner_data.purge_worker_function_name
}

output "purge_job_state_machine_arn" {
  description = "The purge job state machine: each job is an execution named after its job id."
  value       = module.partner_data.purge_job_state_machine_arn
}

output "purge_jobs_table_name" {
  description = "The table of purge records and bucket leases."
  value       = module.partner_data.purge_jobs_table_name
}

output "alarm_names" {
  description = "The stack's alarms: the runbook (docs/deploy-and-operate.md) says what each means and what to do."
  value       = module.partner_data.alarm_names
}

output "dashboard_name" {
  description = "The CloudWatch dashboard: rows per dataset per day, export outcomes, purges, the alarms."
  value       = module.partner_data.dashboard_name
}

output "partner_data" {
  description = "Every output of the module (after an apply of everything)."
  value       = module.partner_data
}
