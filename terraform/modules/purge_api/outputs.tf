output "stage_url" {
  description = "URL of the stage: the base of every route."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "endpoint_url" {
  description = "URL to POST purge requests to."
  value       = "${aws_api_gateway_stage.this.invoke_url}/${var.path_part}"
}

output "status_url" {
  description = "URL to POST a purge job's status requests to."
  value       = "${aws_api_gateway_stage.this.invoke_url}/${var.path_part}/status"
}

output "rest_api_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "stage_name" {
  description = "Name of the stage."
  value       = aws_api_gateway_stage.this.stage_name
}

output "execution_arn" {
  description = "Execution ARN of the REST API."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "access_log_group_name" {
  description = "Name of the access log group."
  value       = aws_cloudwatch_log_group.access.name
}

output "execution_log_group_name" {
  description = "Name of the execution log group (API Gateway's fixed name for this stage)."
  value       = aws_cloudwatch_log_group.execution.name
}

output "deployment_id" {
  description = "ID of the deployment the stage serves (a new one whenever the API's definition changes)."
  value       = aws_api_gateway_deployment.this.id
}

output "api_key_id" {
  description = "ID of the partner API key, or null when require_api_key is false."
  value       = try(aws_api_gateway_api_key.this[0].id, null)
}
