output "purge_endpoint_url" {
  description = "URL partners POST purge requests to."
  value       = module.purge_api.endpoint_url
}

output "purge_status_url" {
  description = "URL partners POST a purge job's status requests to ({\"job_id\", \"password\"})."
  value       = module.purge_api.status_url
}

output "purge_api_document" {
  description = "The purge API's OpenAPI document (JSON) with this stack's URL, path and API key setting, for partners: `terraform output -raw purge_api_document > openapi.json`. Null when the module was copied without the repository's docs/."
  value       = local.purge_api_document == null ? null : jsonencode(local.purge_api_document)
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

output "data_bucket_arn" {
  description = "ARN of the data bucket (for the policies of whatever reads the files)."
  value       = module.data_bucket.bucket_arn
}

output "refresh_dead_letter_queue_name" {
  description = "Name of the failure queue: every message in it is a day that was not refreshed."
  value       = aws_sqs_queue.refresh_failures.name
}

output "refresh_schedule_role_arn" {
  description = "ARN of the role the schedule invokes the refresh function with."
  value       = module.refresh_schedule.role_arn
}

output "purge_worker_function_arn" {
  description = "ARN of the purge job's worker function."
  value       = module.purge_worker.function_arn
}

output "purge_rest_api_execution_arn" {
  description = "Execution ARN of the purge REST API (for IAM policies and Lambda permissions)."
  value       = module.purge_api.execution_arn
}

output "purge_jobs_table_arn" {
  description = "ARN of the table of purge records and bucket leases."
  value       = module.purge_job.table_arn
}

output "purge_password_parameter_arn" {
  description = "ARN of the SSM parameter holding the purge password (for a rotation job's policy)."
  value       = module.purge_password.arn
}

output "partner_api_token_parameter_arn" {
  description = "ARN of the SSM parameter holding the partner API token (null when disabled)."
  value       = try(module.partner_api_token[0].arn, null)
}

output "role_arns" {
  description = "ARNs of the stack's IAM roles, by what uses them: refresh, purge, purge_worker, purge_job (the state machine), refresh_schedule, and api_gateway_cloudwatch (null unless managed here)."
  value = {
    refresh                = module.refresh_function.role_arn
    purge                  = module.purge_function.role_arn
    purge_worker           = module.purge_worker.role_arn
    purge_job              = module.purge_job.role_arn
    refresh_schedule       = module.refresh_schedule.role_arn
    api_gateway_cloudwatch = try(module.api_gateway_cloudwatch_role[0].role_arn, null)
  }
}

output "role_names" {
  description = "Names of the functions' and the state machine's IAM roles (to attach a permissions boundary's companions, say)."
  value = {
    refresh      = module.refresh_function.role_name
    purge        = module.purge_function.role_name
    purge_worker = module.purge_worker.role_name
    purge_job    = module.purge_job.role_name
  }
}

output "log_group_names" {
  description = "The stack's CloudWatch log groups: each function's, the state machine's, and the API's access and execution logs."
  value = {
    refresh             = module.refresh_function.log_group_name
    purge               = module.purge_function.log_group_name
    purge_worker        = module.purge_worker.log_group_name
    purge_job           = module.purge_job.log_group_name
    purge_api_access    = module.purge_api.access_log_group_name
    purge_api_execution = module.purge_api.execution_log_group_name
  }
}

output "alarm_names" {
  description = "Names of the stack's CloudWatch alarms (notifying alarm_sns_topic_arns): each function's errors, the purge jobs', and a day that did not land (failure queue, delivery failures, the scheduler's dropped runs, each dataset's freshness and volume). The runbook: docs/deploy-and-operate.md."
  value = concat(
    compact([
      module.refresh_function.errors_alarm_name,
      module.purge_function.errors_alarm_name,
      module.purge_worker.errors_alarm_name,
    ]),
    module.purge_job.alarm_names,
    values(module.monitoring.alarm_names),
  )
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard: rows per dataset per day, export outcomes, purge counts, the alarms."
  value       = module.monitoring.dashboard_name
}
