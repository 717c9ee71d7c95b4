output "alarm_names" {
  description = "Names of the alarms this module made, by what each watches (see the runbook in docs/deploy-and-operate.md)."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name }
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
