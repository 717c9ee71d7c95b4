output "purge_endpoint_url" {
  description = "URL partners POST purge requests to."
  value       = module.purge_api.endpoint_url
}

output "purge_status_url" {
  description = "URL partners POST a purge job's status requests to ({\"job_id\", \"password\"})."
  value       = module.purge_api.status_url
}

output "purge_rest_api_id" {
  description = "ID of the purge REST API."
  value       = module.purge_api.rest_api_id
}

output "purge_stage_name" {
  description = "Stage of the purge endpoint."
  value       = module.purge_api.stage_name
}

output "purge_api_key_id" {
  description = "ID of the partner API key (null unless purge_require_api_key)."
  value       = module.purge_api.api_key_id
}

output "purge_function_name" {
  description = "Name of the purge function."
  value       = module.purge_function.function_name
}

output "purge_function_arn" {
  description = "ARN of the purge function."
  value       = module.purge_function.function_arn
}

output "purge_worker_function_name" {
  description = "Name of the purge job's worker function."
  value       = module.purge_worker.function_name
}

output "purge_job_state_machine_arn" {
  description = "ARN of the purge job state machine: each job is an execution named after its job id."
  value       = module.purge_job.state_machine_arn
}

output "purge_jobs_table_name" {
  description = "DynamoDB table of the purges' records and the buckets' leases."
  value       = module.purge_job.table_name
}

output "refresh_function_name" {
  description = "Name of the refresh function (invoke it with a date or range to backfill)."
  value       = module.refresh_function.function_name
}

output "refresh_function_arn" {
  description = "ARN of the refresh function."
  value       = module.refresh_function.function_arn
}

output "data_bucket_name" {
  description = "Bucket the partner data is written to."
  value       = module.data_bucket.bucket_name
}

output "purge_password_parameter_name" {
  description = "SSM parameter holding the purge password."
  value       = module.purge_password.name
}

output "partner_api_token_parameter_name" {
  description = "SSM parameter holding the partner API token (null when disabled)."
  value       = try(module.partner_api_token[0].name, null)
}

output "refresh_schedule_name" {
  description = "Name of the daily schedule."
  value       = module.refresh_schedule.schedule_name
}

output "refresh_schedule_arn" {
  description = "ARN of the daily schedule."
  value       = module.refresh_schedule.schedule_arn
}

output "refresh_dead_letter_queue_url" {
  description = "Queue of refresh runs that failed after Lambda's retries or could not be delivered by the schedule."
  value       = aws_sqs_queue.refresh_failures.url
}

output "refresh_dead_letter_queue_arn" {
  description = "ARN of that queue."
  value       = aws_sqs_queue.refresh_failures.arn
}
