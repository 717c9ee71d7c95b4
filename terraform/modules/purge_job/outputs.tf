output "state_machine_arn" {
  description = "ARN of the purge job state machine (the purge function's JOB_STATE_MACHINE_ARN)."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of the state machine; each job is an execution named after its job id."
  value       = aws_sfn_state_machine.this.name
}

output "definition" {
  description = "The state machine's definition (Amazon States Language), as deployed."
  value       = aws_sfn_state_machine.this.definition
}

output "role_arn" {
  description = "ARN of the state machine's role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the state machine's role."
  value       = aws_iam_role.this.name
}

output "role_policy" {
  description = "The role's inline policy document (JSON): everything the state machine may do."
  value       = aws_iam_role_policy.this.policy
}

output "log_group_name" {
  description = "Name of the state machine's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "table_name" {
  description = "Name of the job table (the functions' JOBS_TABLE)."
  value       = aws_dynamodb_table.jobs.name
}

output "table_arn" {
  description = "ARN of the job table."
  value       = aws_dynamodb_table.jobs.arn
}

output "alarm_names" {
  description = "Names of the failed and timed-out job alarms."
  value       = [for alarm in aws_cloudwatch_metric_alarm.failed : alarm.alarm_name]
}

output "alarm_arns" {
  description = "ARNs of the failed and timed-out job alarms."
  value       = [for alarm in aws_cloudwatch_metric_alarm.failed : alarm.arn]
}
