/**
 * Alarms and a dashboard for the stack: a day that did not land, a purge that failed.
 *
 * The freshness, volume and dashboard metrics are the functions' own, written as EMF lines
 * (functions/lambda_shared/metrics.py, whose METRICS lists every name read here).
 */

locals {
  # An alarm on any occurrence of an event that AWS counts (a Sum of at least 1 in 5 minutes).
  any_event = {
    statistic   = "Sum"
    period      = 300
    evaluations = 1
    threshold   = 1
    comparison  = "GreaterThanOrEqualToThreshold"
    missing     = "notBreaching"
  }

  # Each alarm: what it watches. One table, so that the tests and the runbook (docs/deploy-and-operate.md) read the same.
  alarms = merge(
    {
      "refresh-failure-queue" = {
        description = "A refresh run that did not happen is in the failure queue ${var.failure_queue_name}: each message names its day. Read it, re-run the day (runbook: docs/deploy-and-operate.md), then delete the message."
        namespace   = "AWS/SQS"
        metric      = "ApproximateNumberOfMessagesVisible"
        dimensions  = { QueueName = var.failure_queue_name }
        statistic   = "Maximum"
        period      = 300
        evaluations = 1
        threshold   = 0
        comparison  = "GreaterThanThreshold"
        missing     = "notBreaching"
      }
      "refresh-destination-failures" = merge(local.any_event, {
        description = "Lambda could not deliver a failed refresh run to the failure queue: that day was not refreshed and nothing records it. Find it in the function's log group."
        namespace   = "AWS/Lambda"
        metric      = "DestinationDeliveryFailures"
        dimensions  = { FunctionName = var.refresh_function_name }
      })
      "schedule-dropped" = merge(local.any_event, {
        description = "EventBridge Scheduler gave up invoking a target after its retries, in the schedule group ${var.schedule_group_name} (every schedule of the group counts): a refresh run may not have happened."
        namespace   = "AWS/Scheduler"
        metric      = "InvocationDroppedCount"
        dimensions  = { ScheduleGroup = var.schedule_group_name }
      })
      "schedule-dead-letter-failures" = merge(local.any_event, {
        description = "EventBridge Scheduler could not put a failed invocation in its dead-letter queue, in the schedule group ${var.schedule_group_name}: a run was lost without a trace in the failure queue."
        namespace   = "AWS/Scheduler"
        metric      = "InvocationsFailedToBeSentToDeadLetterCount"
        dimensions  = { ScheduleGroup = var.schedule_group_name }
      })
    },
    {
      for dataset in var.datasets : "refresh-${dataset}-freshness" => {
        description = "No export of ${dataset} was written in ${var.freshness_hours} hours (the schedule's run failed, was not delivered, or never ran). Re-run the day (runbook: docs/deploy-and-operate.md)."
        namespace   = var.metrics_namespace
        metric      = "ExportsWritten"
        dimensions  = { Dataset = dataset }
        statistic   = "Sum"
        period      = 3600
        evaluations = var.freshness_hours
        threshold   = 1
        comparison  = "LessThanThreshold"
        missing     = "breaching"
      }
    },
    {
      for dataset, rows in var.min_rows : "refresh-${dataset}-volume" => {
        description = "An export of ${dataset} wrote fewer than ${rows} rows: the partner may have answered with a short or empty day. Compare with the dashboard's rows per day, and re-run the day once the partner has it."
        namespace   = var.metrics_namespace
        metric      = "ExportRows"
        dimensions  = { Dataset = dataset }
        statistic   = "Minimum"
        period      = 3600
        evaluations = 1
        threshold   = rows
        comparison  = "LessThanThreshold"
        missing     = "notBreaching"
      }
    },
  )
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = each.value.evaluations
  datapoints_to_alarm = each.value.evaluations
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison
  treat_missing_data  = each.value.missing
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

locals {
  deleted_metrics = ["PurgeVersionsDeleted", "PurgeDeleteMarkersDeleted", "PurgeUploadsAborted"]

  # The charts, in reading order: two a row, each half the dashboard's width.
  charts = [
    {
      title   = "Rows written per dataset per day"
      stat    = "Sum"
      period  = 86400
      metrics = [for dataset in var.datasets : [var.metrics_namespace, "ExportRows", "Dataset", dataset]]
    },
    {
      title  = "Exports written and failed"
      stat   = "Sum"
      period = 3600
      metrics = concat(
        [for dataset in var.datasets : [var.metrics_namespace, "ExportsWritten", "Dataset", dataset]],
        [for dataset in var.datasets : [var.metrics_namespace, "ExportsFailed", "Dataset", dataset]],
      )
    },
    {
      title  = "Export size and time"
      stat   = "Maximum"
      period = 3600
      metrics = concat(
        [for dataset in var.datasets : [var.metrics_namespace, "ExportBytes", "Dataset", dataset]],
        [for dataset in var.datasets : [var.metrics_namespace, "ExportSeconds", "Dataset", dataset, { yAxis = "right" }]],
      )
    },
    {
      title  = "Purges: entries deleted, by kind"
      stat   = "Sum"
      period = 3600
      metrics = concat(
        [for metric in local.deleted_metrics : [var.metrics_namespace, metric, "Mode", "inline"]],
        [for metric in local.deleted_metrics : [var.metrics_namespace, metric, "Mode", "job"]],
      )
    },
    {
      title  = "Purges: how they ended, and how long they took"
      stat   = "Sum"
      period = 3600
      metrics = concat(
        [for mode in ["inline", "job"] : [var.metrics_namespace, "PurgesSucceeded", "Mode", mode]],
        [for mode in ["inline", "job"] : [var.metrics_namespace, "PurgesFailed", "Mode", mode]],
        [for mode in ["inline", "job"] : [var.metrics_namespace, "PurgeSeconds", "Mode", mode, { stat = "Maximum", yAxis = "right" }]],
      )
    },
    {
      title  = "Purge jobs (Step Functions)"
      stat   = "Sum"
      period = 3600
      metrics = [for metric in ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut"] :
        ["AWS/States", metric, "StateMachineArn", var.purge_state_machine_arn]
      ]
    },
  ]
  chart_width  = 12
  chart_height = 6

  metric_widgets = [
    for index, chart in local.charts : {
      type       = "metric"
      x          = (index % 2) * local.chart_width
      y          = floor(index / 2) * local.chart_height
      width      = local.chart_width
      height     = local.chart_height
      properties = merge({ region = var.region, view = "timeSeries" }, chart)
    }
  ]

  # Every metric of the functions' own namespace that an alarm or a widget reads: each must be one
  # they write (tests/test_metrics.py reads this through `terraform console`).
  own_metrics_read = sort(distinct(concat(
    [for alarm in local.alarms : alarm.metric if alarm.namespace == var.metrics_namespace],
    flatten([for widget in local.metric_widgets : [for line in widget.properties.metrics : line[1] if line[0] == var.metrics_namespace]]),
  )))
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = concat(local.metric_widgets, [{
      type = "alarm", x = 0, y = ceil(length(local.charts) / 2) * local.chart_height, width = 2 * local.chart_width, height = 4
      properties = {
        title  = "Alarms"
        alarms = concat([for alarm in aws_cloudwatch_metric_alarm.this : alarm.arn], var.alarm_arns)
      }
    }])
  })
}
