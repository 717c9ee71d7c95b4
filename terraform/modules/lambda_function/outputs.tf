output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the function."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "ARN API Gateway uses to invoke the function."
  value       = aws_lambda_function.this.invoke_arn
}

output "role_name" {
  description = "Name of the function's IAM role."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the function's IAM role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the function's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "errors_alarm_name" {
  description = "Name of the errors alarm, or null."
  value       = try(aws_cloudwatch_metric_alarm.errors[0].alarm_name, null)
}

output "errors_alarm_arn" {
  description = "ARN of the errors alarm, or null."
  value       = try(aws_cloudwatch_metric_alarm.errors[0].arn, null)
}

output "role_policy" {
  description = "The role's inline policy document (JSON): everything the function may do."
  value       = aws_iam_role_policy.this.policy
}
