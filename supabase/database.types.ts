
export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[]

export type Database = {
  
  "public": {
          Tables: {
            "backup_logs": {
                  Row: {
                    "backup_type": string,"completed_at": string | null,"error_message": string | null,"id": string,"operation": string,"row_counts": NonNullable<Json>,"shop_id": string | null,"size_bytes": number | null,"snapshot_ids": (string)[],"started_at": string,"status": string,"triggered_by": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "backup_type": string,"completed_at"?: string | null,"error_message"?: string | null,"id"?: string,"operation"?: string,"row_counts"?: NonNullable<Json>,"shop_id"?: string | null,"size_bytes"?: number | null,"snapshot_ids"?: (string)[],"started_at"?: string,"status"?: string,"triggered_by"?: string | null
                  }
                  Update: {
                    "backup_type"?: string,"completed_at"?: string | null,"error_message"?: string | null,"id"?: string,"operation"?: string,"row_counts"?: NonNullable<Json>,"shop_id"?: string | null,"size_bytes"?: number | null,"snapshot_ids"?: (string)[],"started_at"?: string,"status"?: string,"triggered_by"?: string | null
                  }
                  Relationships: [
                    {
      foreignKeyName: "backup_logs_triggered_by_fkey"
      columns: ["triggered_by"]
isOneToOne: false
      referencedRelation: "profiles"
      referencedColumns: ["id"]
    }
                  ]
                },"conversations": {
                  Row: {
                    "ai_enabled": boolean,"assigned_to": string | null,"created_at": string,"customer_name": string | null,"customer_ref": string | null,"external_id": string | null,"id": string,"last_message_at": string | null,"platform": Database["public"]['Enums']["social_platform"],"shop_id": string,"status": Database["public"]['Enums']["conversation_status"],"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "ai_enabled"?: boolean,"assigned_to"?: string | null,"created_at"?: string,"customer_name"?: string | null,"customer_ref"?: string | null,"external_id"?: string | null,"id"?: string,"last_message_at"?: string | null,"platform": Database["public"]['Enums']["social_platform"],"shop_id": string,"status"?: Database["public"]['Enums']["conversation_status"],"updated_at"?: string
                  }
                  Update: {
                    "ai_enabled"?: boolean,"assigned_to"?: string | null,"created_at"?: string,"customer_name"?: string | null,"customer_ref"?: string | null,"external_id"?: string | null,"id"?: string,"last_message_at"?: string | null,"platform"?: Database["public"]['Enums']["social_platform"],"shop_id"?: string,"status"?: Database["public"]['Enums']["conversation_status"],"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "conversations_assigned_to_fkey"
      columns: ["assigned_to"]
isOneToOne: false
      referencedRelation: "profiles"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "conversations_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"daily_sales_metrics": {
                  Row: {
                    "average_order_value": number,"cancelled": number,"category_breakdown": NonNullable<Json>,"completed": number,"computed_at": string,"cost_of_goods": number,"date": string,"discounts": number,"gmv": number,"gross_profit": number,"gross_revenue": number,"items_sold": number,"net_revenue": number,"orders": number,"shop_id": string,"unique_customers": number
                  }
                  ComputedFields: never
                  Insert: {
                    "average_order_value"?: number,"cancelled"?: number,"category_breakdown"?: NonNullable<Json>,"completed"?: number,"computed_at"?: string,"cost_of_goods"?: number,"date": string,"discounts"?: number,"gmv"?: number,"gross_profit"?: number,"gross_revenue"?: number,"items_sold"?: number,"net_revenue"?: number,"orders"?: number,"shop_id": string,"unique_customers"?: number
                  }
                  Update: {
                    "average_order_value"?: number,"cancelled"?: number,"category_breakdown"?: NonNullable<Json>,"completed"?: number,"computed_at"?: string,"cost_of_goods"?: number,"date"?: string,"discounts"?: number,"gmv"?: number,"gross_profit"?: number,"gross_revenue"?: number,"items_sold"?: number,"net_revenue"?: number,"orders"?: number,"shop_id"?: string,"unique_customers"?: number
                  }
                  Relationships: [
                    {
      foreignKeyName: "daily_sales_metrics_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"data_extensions": {
                  Row: {
                    "amount": number,"created_at": string,"currency": string,"ends_at": string | null,"id": string,"kind": string,"reviewed_by": string | null,"shop_id": string,"starts_at": string | null,"status": Database["public"]['Enums']["data_extension_status"],"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "amount"?: number,"created_at"?: string,"currency"?: string,"ends_at"?: string | null,"id"?: string,"kind": string,"reviewed_by"?: string | null,"shop_id": string,"starts_at"?: string | null,"status"?: Database["public"]['Enums']["data_extension_status"],"updated_at"?: string
                  }
                  Update: {
                    "amount"?: number,"created_at"?: string,"currency"?: string,"ends_at"?: string | null,"id"?: string,"kind"?: string,"reviewed_by"?: string | null,"shop_id"?: string,"starts_at"?: string | null,"status"?: Database["public"]['Enums']["data_extension_status"],"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "data_extensions_reviewed_by_fkey"
      columns: ["reviewed_by"]
isOneToOne: false
      referencedRelation: "profiles"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "data_extensions_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"form_submissions": {
                  Row: {
                    "channel": Database["public"]['Enums']["order_channel"],"conversation_id": string | null,"created_at": string,"customer_address": string | null,"customer_name": string | null,"customer_phone": string | null,"customer_ref": string | null,"discount": number,"form_id": string | null,"id": string,"line_items": NonNullable<Json>,"notes": string | null,"order_number": number,"payment_method_id": string | null,"payment_status": Database["public"]['Enums']["payment_status"],"shipping_fee": number,"shop_id": string,"status": Database["public"]['Enums']["order_status"],"stock_deducted_at": string | null,"stock_restored_at": string | null,"submitted_at": string,"subtotal": number,"total": number,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "channel"?: Database["public"]['Enums']["order_channel"],"conversation_id"?: string | null,"created_at"?: string,"customer_address"?: string | null,"customer_name"?: string | null,"customer_phone"?: string | null,"customer_ref"?: string | null,"discount"?: number,"form_id"?: string | null,"id"?: string,"line_items"?: NonNullable<Json>,"notes"?: string | null,"order_number": number,"payment_method_id"?: string | null,"payment_status"?: Database["public"]['Enums']["payment_status"],"shipping_fee"?: number,"shop_id": string,"status"?: Database["public"]['Enums']["order_status"],"stock_deducted_at"?: string | null,"stock_restored_at"?: string | null,"submitted_at"?: string,"subtotal"?: number,"total"?: number,"updated_at"?: string
                  }
                  Update: {
                    "channel"?: Database["public"]['Enums']["order_channel"],"conversation_id"?: string | null,"created_at"?: string,"customer_address"?: string | null,"customer_name"?: string | null,"customer_phone"?: string | null,"customer_ref"?: string | null,"discount"?: number,"form_id"?: string | null,"id"?: string,"line_items"?: NonNullable<Json>,"notes"?: string | null,"order_number"?: number,"payment_method_id"?: string | null,"payment_status"?: Database["public"]['Enums']["payment_status"],"shipping_fee"?: number,"shop_id"?: string,"status"?: Database["public"]['Enums']["order_status"],"stock_deducted_at"?: string | null,"stock_restored_at"?: string | null,"submitted_at"?: string,"subtotal"?: number,"total"?: number,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "form_submissions_conversation_fkey"
      columns: ["conversation_id","shop_id"]
isOneToOne: false
      referencedRelation: "conversations"
      referencedColumns: ["id","shop_id"]
    },{
      foreignKeyName: "form_submissions_form_fkey"
      columns: ["form_id","shop_id"]
isOneToOne: false
      referencedRelation: "forms"
      referencedColumns: ["id","shop_id"]
    },{
      foreignKeyName: "form_submissions_payment_method_fkey"
      columns: ["payment_method_id","shop_id"]
isOneToOne: false
      referencedRelation: "payment_methods"
      referencedColumns: ["id","shop_id"]
    },{
      foreignKeyName: "form_submissions_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"forms": {
                  Row: {
                    "created_at": string,"description": string | null,"fields": NonNullable<Json>,"id": string,"is_active": boolean,"name": string,"shop_id": string,"slug": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"description"?: string | null,"fields"?: NonNullable<Json>,"id"?: string,"is_active"?: boolean,"name": string,"shop_id": string,"slug": string,"updated_at"?: string
                  }
                  Update: {
                    "created_at"?: string,"description"?: string | null,"fields"?: NonNullable<Json>,"id"?: string,"is_active"?: boolean,"name"?: string,"shop_id"?: string,"slug"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "forms_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"idempotency_keys": {
                  Row: {
                    "action": string,"created_at": string,"id": number,"key": string,"request_hash": string,"response": Json | null,"shop_id": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "action": string,"created_at"?: string,"id"?: never,"key": string,"request_hash": string,"response"?: Json | null,"shop_id"?: string | null
                  }
                  Update: {
                    "action"?: string,"created_at"?: string,"id"?: never,"key"?: string,"request_hash"?: string,"response"?: Json | null,"shop_id"?: string | null
                  }
                  Relationships: [
                    {
      foreignKeyName: "idempotency_keys_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"items": {
                  Row: {
                    "category": string | null,"cost": number | null,"created_at": string,"description": string | null,"id": string,"image_url": string | null,"is_active": boolean,"low_stock_threshold": number | null,"name": string,"price": number,"shop_id": string,"sku": string | null,"stock": number | null,"track_stock": boolean,"type": Database["public"]['Enums']["item_type"],"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "category"?: string | null,"cost"?: number | null,"created_at"?: string,"description"?: string | null,"id"?: string,"image_url"?: string | null,"is_active"?: boolean,"low_stock_threshold"?: number | null,"name": string,"price"?: number,"shop_id": string,"sku"?: string | null,"stock"?: number | null,"track_stock"?: boolean,"type"?: Database["public"]['Enums']["item_type"],"updated_at"?: string
                  }
                  Update: {
                    "category"?: string | null,"cost"?: number | null,"created_at"?: string,"description"?: string | null,"id"?: string,"image_url"?: string | null,"is_active"?: boolean,"low_stock_threshold"?: number | null,"name"?: string,"price"?: number,"shop_id"?: string,"sku"?: string | null,"stock"?: number | null,"track_stock"?: boolean,"type"?: Database["public"]['Enums']["item_type"],"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "items_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"keyword_replies": {
                  Row: {
                    "created_at": string,"id": string,"is_active": boolean,"keywords": (string)[],"match_type": Database["public"]['Enums']["keyword_match_type"],"priority": number,"reply": string,"shop_id": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"id"?: string,"is_active"?: boolean,"keywords": (string)[],"match_type"?: Database["public"]['Enums']["keyword_match_type"],"priority"?: number,"reply": string,"shop_id": string,"updated_at"?: string
                  }
                  Update: {
                    "created_at"?: string,"id"?: string,"is_active"?: boolean,"keywords"?: (string)[],"match_type"?: Database["public"]['Enums']["keyword_match_type"],"priority"?: number,"reply"?: string,"shop_id"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "keyword_replies_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"messages": {
                  Row: {
                    "content": string,"conversation_id": string,"created_at": string,"id": string,"is_ai_generated": boolean,"sender_id": string | null,"sender_type": Database["public"]['Enums']["message_sender_type"],"shop_id": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "content": string,"conversation_id": string,"created_at"?: string,"id"?: string,"is_ai_generated"?: boolean,"sender_id"?: string | null,"sender_type": Database["public"]['Enums']["message_sender_type"],"shop_id": string,"updated_at"?: string
                  }
                  Update: {
                    "content"?: string,"conversation_id"?: string,"created_at"?: string,"id"?: string,"is_ai_generated"?: boolean,"sender_id"?: string | null,"sender_type"?: Database["public"]['Enums']["message_sender_type"],"shop_id"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "messages_conversation_fkey"
      columns: ["conversation_id","shop_id"]
isOneToOne: false
      referencedRelation: "conversations"
      referencedColumns: ["id","shop_id"]
    },{
      foreignKeyName: "messages_sender_id_fkey"
      columns: ["sender_id"]
isOneToOne: false
      referencedRelation: "profiles"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "messages_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"payment_methods": {
                  Row: {
                    "account_name": string | null,"account_number": string | null,"created_at": string,"id": string,"instructions": string | null,"is_active": boolean,"provider": string | null,"shop_id": string,"type": Database["public"]['Enums']["payment_method_type"],"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "account_name"?: string | null,"account_number"?: string | null,"created_at"?: string,"id"?: string,"instructions"?: string | null,"is_active"?: boolean,"provider"?: string | null,"shop_id": string,"type": Database["public"]['Enums']["payment_method_type"],"updated_at"?: string
                  }
                  Update: {
                    "account_name"?: string | null,"account_number"?: string | null,"created_at"?: string,"id"?: string,"instructions"?: string | null,"is_active"?: boolean,"provider"?: string | null,"shop_id"?: string,"type"?: Database["public"]['Enums']["payment_method_type"],"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "payment_methods_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"platform_metrics": {
                  Row: {
                    "active_shops": number,"ai_messages_processed": number,"churn_rate": number,"churned_subscriptions": number,"computed_at": string,"data_extension_revenue": number,"data_extension_status": NonNullable<Json>,"date": string,"gmv": number,"messages": number,"mrr": number,"mrr_churned": number,"mrr_contraction": number,"mrr_expansion": number,"mrr_new": number,"mrr_reactivation": number,"new_conversations": number,"new_subscriptions": number,"new_users": number,"plan_distribution": NonNullable<Json>,"total_orders": number,"total_shops": number,"total_users": number
                  }
                  ComputedFields: never
                  Insert: {
                    "active_shops"?: number,"ai_messages_processed"?: number,"churn_rate"?: number,"churned_subscriptions"?: number,"computed_at"?: string,"data_extension_revenue"?: number,"data_extension_status"?: NonNullable<Json>,"date": string,"gmv"?: number,"messages"?: number,"mrr"?: number,"mrr_churned"?: number,"mrr_contraction"?: number,"mrr_expansion"?: number,"mrr_new"?: number,"mrr_reactivation"?: number,"new_conversations"?: number,"new_subscriptions"?: number,"new_users"?: number,"plan_distribution"?: NonNullable<Json>,"total_orders"?: number,"total_shops"?: number,"total_users"?: number
                  }
                  Update: {
                    "active_shops"?: number,"ai_messages_processed"?: number,"churn_rate"?: number,"churned_subscriptions"?: number,"computed_at"?: string,"data_extension_revenue"?: number,"data_extension_status"?: NonNullable<Json>,"date"?: string,"gmv"?: number,"messages"?: number,"mrr"?: number,"mrr_churned"?: number,"mrr_contraction"?: number,"mrr_expansion"?: number,"mrr_new"?: number,"mrr_reactivation"?: number,"new_conversations"?: number,"new_subscriptions"?: number,"new_users"?: number,"plan_distribution"?: NonNullable<Json>,"total_orders"?: number,"total_shops"?: number,"total_users"?: number
                  }
                  Relationships: [
                    
                  ]
                },"product_analytics": {
                  Row: {
                    "abc_class": string | null,"computed_at": string,"cost": number,"days_of_cover": number | null,"item_id": string,"margin_pct": number | null,"order_count": number,"period_end": string,"period_start": string,"profit": number,"revenue": number,"sell_through_rate": number | null,"shop_id": string,"stock_at_end": number | null,"units_sold": number
                  }
                  ComputedFields: never
                  Insert: {
                    "abc_class"?: string | null,"computed_at"?: string,"cost"?: number,"days_of_cover"?: number | null,"item_id": string,"margin_pct"?: number | null,"order_count"?: number,"period_end": string,"period_start": string,"profit"?: number,"revenue"?: number,"sell_through_rate"?: number | null,"shop_id": string,"stock_at_end"?: number | null,"units_sold"?: number
                  }
                  Update: {
                    "abc_class"?: string | null,"computed_at"?: string,"cost"?: number,"days_of_cover"?: number | null,"item_id"?: string,"margin_pct"?: number | null,"order_count"?: number,"period_end"?: string,"period_start"?: string,"profit"?: number,"revenue"?: number,"sell_through_rate"?: number | null,"shop_id"?: string,"stock_at_end"?: number | null,"units_sold"?: number
                  }
                  Relationships: [
                    {
      foreignKeyName: "product_analytics_item_fkey"
      columns: ["item_id","shop_id"]
isOneToOne: false
      referencedRelation: "items"
      referencedColumns: ["id","shop_id"]
    },{
      foreignKeyName: "product_analytics_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"profiles": {
                  Row: {
                    "avatar_url": string | null,"created_at": string,"email": string | null,"full_name": string | null,"id": string,"is_platform_admin": boolean,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "avatar_url"?: string | null,"created_at"?: string,"email"?: string | null,"full_name"?: string | null,"id": string,"is_platform_admin"?: boolean,"updated_at"?: string
                  }
                  Update: {
                    "avatar_url"?: string | null,"created_at"?: string,"email"?: string | null,"full_name"?: string | null,"id"?: string,"is_platform_admin"?: boolean,"updated_at"?: string
                  }
                  Relationships: [
                    
                  ]
                },"recovery_snapshot_parts": {
                  Row: {
                    "checksum": string,"created_at": string,"data": NonNullable<Json>,"id": number,"shop_id": string,"size_bytes": number
                  }
                  ComputedFields: never
                  Insert: {
                    "checksum": string,"created_at"?: string,"data": NonNullable<Json>,"id"?: never,"shop_id": string,"size_bytes": number
                  }
                  Update: {
                    "checksum"?: string,"created_at"?: string,"data"?: NonNullable<Json>,"id"?: never,"shop_id"?: string,"size_bytes"?: number
                  }
                  Relationships: [
                    
                  ]
                },"recovery_snapshots": {
                  Row: {
                    "backup_log_id": string | null,"checksum": string,"created_at": string,"created_by": string | null,"expires_at": string,"history_part_id": number,"id": string,"recent_part_id": number,"restored_at": string | null,"row_counts": NonNullable<Json>,"shop_id": string,"size_bytes": number | null,"snapshot_type": string,"state_part_id": number
                  }
                  ComputedFields: never
                  Insert: {
                    "backup_log_id"?: string | null,"checksum": string,"created_at"?: string,"created_by"?: string | null,"expires_at"?: string,"history_part_id": number,"id"?: string,"recent_part_id": number,"restored_at"?: string | null,"row_counts"?: NonNullable<Json>,"shop_id": string,"size_bytes"?: number | null,"snapshot_type": string,"state_part_id": number
                  }
                  Update: {
                    "backup_log_id"?: string | null,"checksum"?: string,"created_at"?: string,"created_by"?: string | null,"expires_at"?: string,"history_part_id"?: number,"id"?: string,"recent_part_id"?: number,"restored_at"?: string | null,"row_counts"?: NonNullable<Json>,"shop_id"?: string,"size_bytes"?: number | null,"snapshot_type"?: string,"state_part_id"?: number
                  }
                  Relationships: [
                    {
      foreignKeyName: "recovery_snapshots_backup_log_id_fkey"
      columns: ["backup_log_id"]
isOneToOne: false
      referencedRelation: "backup_logs"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "recovery_snapshots_created_by_fkey"
      columns: ["created_by"]
isOneToOne: false
      referencedRelation: "profiles"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "recovery_snapshots_history_part_id_fkey"
      columns: ["history_part_id"]
isOneToOne: false
      referencedRelation: "recovery_snapshot_parts"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "recovery_snapshots_recent_part_id_fkey"
      columns: ["recent_part_id"]
isOneToOne: false
      referencedRelation: "recovery_snapshot_parts"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "recovery_snapshots_state_part_id_fkey"
      columns: ["state_part_id"]
isOneToOne: false
      referencedRelation: "recovery_snapshot_parts"
      referencedColumns: ["id"]
    }
                  ]
                },"saved_replies": {
                  Row: {
                    "content": string,"created_at": string,"id": string,"shop_id": string,"shortcut": string | null,"title": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "content": string,"created_at"?: string,"id"?: string,"shop_id": string,"shortcut"?: string | null,"title": string,"updated_at"?: string
                  }
                  Update: {
                    "content"?: string,"created_at"?: string,"id"?: string,"shop_id"?: string,"shortcut"?: string | null,"title"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "saved_replies_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"shop_invitations": {
                  Row: {
                    "created_at": string,"expires_at": string,"id": string,"invited_by": string | null,"role": Database["public"]['Enums']["team_role"],"shop_id": string,"token": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"expires_at"?: string,"id"?: string,"invited_by"?: string | null,"role"?: Database["public"]['Enums']["team_role"],"shop_id": string,"token"?: string
                  }
                  Update: {
                    "created_at"?: string,"expires_at"?: string,"id"?: string,"invited_by"?: string | null,"role"?: Database["public"]['Enums']["team_role"],"shop_id"?: string,"token"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "shop_invitations_invited_by_fkey"
      columns: ["invited_by"]
isOneToOne: false
      referencedRelation: "profiles"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "shop_invitations_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"shops": {
                  Row: {
                    "billing_interval": Database["public"]['Enums']["billing_interval"],"created_at": string,"currency": string,"default_low_stock_threshold": number,"id": string,"name": string,"owner_id": string,"slug": string,"subscription_amount": number,"subscription_canceled_at": string | null,"subscription_plan": Database["public"]['Enums']["subscription_plan"],"subscription_started_at": string | null,"subscription_status": Database["public"]['Enums']["subscription_status"],"timezone": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "billing_interval"?: Database["public"]['Enums']["billing_interval"],"created_at"?: string,"currency"?: string,"default_low_stock_threshold"?: number,"id"?: string,"name": string,"owner_id"?: string,"slug": string,"subscription_amount"?: number,"subscription_canceled_at"?: string | null,"subscription_plan"?: Database["public"]['Enums']["subscription_plan"],"subscription_started_at"?: string | null,"subscription_status"?: Database["public"]['Enums']["subscription_status"],"timezone"?: string,"updated_at"?: string
                  }
                  Update: {
                    "billing_interval"?: Database["public"]['Enums']["billing_interval"],"created_at"?: string,"currency"?: string,"default_low_stock_threshold"?: number,"id"?: string,"name"?: string,"owner_id"?: string,"slug"?: string,"subscription_amount"?: number,"subscription_canceled_at"?: string | null,"subscription_plan"?: Database["public"]['Enums']["subscription_plan"],"subscription_started_at"?: string | null,"subscription_status"?: Database["public"]['Enums']["subscription_status"],"timezone"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "shops_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "profiles"
      referencedColumns: ["id"]
    }
                  ]
                },"social_integrations": {
                  Row: {
                    "access_token": string | null,"account_id": string,"account_name": string | null,"connected_by": string | null,"created_at": string,"id": string,"platform": Database["public"]['Enums']["social_platform"],"refresh_token": string | null,"shop_id": string,"status": Database["public"]['Enums']["integration_status"],"token_expires_at": string | null,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "access_token"?: string | null,"account_id": string,"account_name"?: string | null,"connected_by"?: string | null,"created_at"?: string,"id"?: string,"platform": Database["public"]['Enums']["social_platform"],"refresh_token"?: string | null,"shop_id": string,"status"?: Database["public"]['Enums']["integration_status"],"token_expires_at"?: string | null,"updated_at"?: string
                  }
                  Update: {
                    "access_token"?: string | null,"account_id"?: string,"account_name"?: string | null,"connected_by"?: string | null,"created_at"?: string,"id"?: string,"platform"?: Database["public"]['Enums']["social_platform"],"refresh_token"?: string | null,"shop_id"?: string,"status"?: Database["public"]['Enums']["integration_status"],"token_expires_at"?: string | null,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "social_integrations_connected_by_fkey"
      columns: ["connected_by"]
isOneToOne: false
      referencedRelation: "profiles"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "social_integrations_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"stock_history": {
                  Row: {
                    "change": number,"created_at": string,"created_by": string | null,"id": number,"item_id": string,"new_stock": number,"note": string | null,"previous_stock": number,"reason": string,"reference_id": string | null,"shop_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "change": number,"created_at"?: string,"created_by"?: string | null,"id"?: never,"item_id": string,"new_stock": number,"note"?: string | null,"previous_stock": number,"reason": string,"reference_id"?: string | null,"shop_id": string
                  }
                  Update: {
                    "change"?: number,"created_at"?: string,"created_by"?: string | null,"id"?: never,"item_id"?: string,"new_stock"?: number,"note"?: string | null,"previous_stock"?: number,"reason"?: string,"reference_id"?: string | null,"shop_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "stock_history_created_by_fkey"
      columns: ["created_by"]
isOneToOne: false
      referencedRelation: "profiles"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "stock_history_item_fkey"
      columns: ["item_id","shop_id"]
isOneToOne: false
      referencedRelation: "items"
      referencedColumns: ["id","shop_id"]
    },{
      foreignKeyName: "stock_history_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"subscription_events": {
                  Row: {
                    "billing_interval": Database["public"]['Enums']["billing_interval"],"id": number,"kind": Database["public"]['Enums']["subscription_event_kind"],"new_mrr": number,"occurred_at": string,"plan": Database["public"]['Enums']["subscription_plan"],"previous_mrr": number,"shop_id": string,"status": Database["public"]['Enums']["subscription_status"]
                  }
                  ComputedFields: never
                  Insert: {
                    "billing_interval": Database["public"]['Enums']["billing_interval"],"id"?: never,"kind": Database["public"]['Enums']["subscription_event_kind"],"new_mrr": number,"occurred_at"?: string,"plan": Database["public"]['Enums']["subscription_plan"],"previous_mrr": number,"shop_id": string,"status": Database["public"]['Enums']["subscription_status"]
                  }
                  Update: {
                    "billing_interval"?: Database["public"]['Enums']["billing_interval"],"id"?: never,"kind"?: Database["public"]['Enums']["subscription_event_kind"],"new_mrr"?: number,"occurred_at"?: string,"plan"?: Database["public"]['Enums']["subscription_plan"],"previous_mrr"?: number,"shop_id"?: string,"status"?: Database["public"]['Enums']["subscription_status"]
                  }
                  Relationships: [
                    {
      foreignKeyName: "subscription_events_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"sync_status": {
                  Row: {
                    "created_at": string,"cursor": string | null,"error_message": string | null,"id": string,"last_synced_at": string | null,"resource": string,"shop_id": string,"status": Database["public"]['Enums']["sync_state"],"target": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"cursor"?: string | null,"error_message"?: string | null,"id"?: string,"last_synced_at"?: string | null,"resource": string,"shop_id": string,"status"?: Database["public"]['Enums']["sync_state"],"target"?: string,"updated_at"?: string
                  }
                  Update: {
                    "created_at"?: string,"cursor"?: string | null,"error_message"?: string | null,"id"?: string,"last_synced_at"?: string | null,"resource"?: string,"shop_id"?: string,"status"?: Database["public"]['Enums']["sync_state"],"target"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "sync_status_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    }
                  ]
                },"team_members": {
                  Row: {
                    "created_at": string,"id": string,"invited_by": string | null,"role": Database["public"]['Enums']["team_role"],"shop_id": string,"updated_at": string,"user_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"id"?: string,"invited_by"?: string | null,"role"?: Database["public"]['Enums']["team_role"],"shop_id": string,"updated_at"?: string,"user_id": string
                  }
                  Update: {
                    "created_at"?: string,"id"?: string,"invited_by"?: string | null,"role"?: Database["public"]['Enums']["team_role"],"shop_id"?: string,"updated_at"?: string,"user_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "team_members_invited_by_fkey"
      columns: ["invited_by"]
isOneToOne: false
      referencedRelation: "profiles"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "team_members_shop_id_fkey"
      columns: ["shop_id"]
isOneToOne: false
      referencedRelation: "shops"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "team_members_user_id_fkey"
      columns: ["user_id"]
isOneToOne: false
      referencedRelation: "profiles"
      referencedColumns: ["id"]
    }
                  ]
                }
          }
          Views: {
            [_ in never]: never
          }
          Functions: {
            "accept_invitation":
{ Args: { "p_token": string }; Returns: Json
                           },
"cleanup_expired_snapshots":
{ Args: Record<PropertyKey, never>; Returns: Json
                           },
"create_backup_snapshot":
{ Args: { "p_backup_type"?: string,"p_idempotency_key"?: string,"p_shop_id"?: string }; Returns: Json
                           },
"create_invitation":
{ Args: { "p_role"?: Database["public"]['Enums']["team_role"],"p_shop_id": string,"p_valid_for"?: string }; Returns: Json
                           },
"delete_invitation":
{ Args: { "p_invitation_id": string }; Returns: undefined
                           },
"generate_daily_sales_metrics":
{ Args: { "p_date"?: string,"p_shop_id"?: string }; Returns: Json
                           },
"generate_platform_metrics":
{ Args: { "p_date"?: string }; Returns: Json
                           },
"generate_product_analytics":
{ Args: { "p_end": string,"p_shop_id": string,"p_start": string }; Returns: Json
                           },
"get_low_stock_items":
{ Args: { "p_shop_id": string,"p_threshold"?: number }; Returns: Json
                           },
"get_platform_stats":
{ Args: { "p_end"?: string,"p_start"?: string }; Returns: Json
                           },
"get_sales_metrics":
{ Args: { "p_end": string,"p_shop_id": string,"p_start": string }; Returns: Json
                           },
"get_shop_stats":
{ Args: { "p_shop_id": string }; Returns: Json
                           },
"get_social_integration_tokens":
{ Args: { "p_integration_id": string }; Returns: Json
                           },
"list_backups":
{ Args: { "p_limit"?: number,"p_shop_id"?: string }; Returns: Json
                           },
"lookup_invitation":
{ Args: { "p_token": string }; Returns: Json
                           },
"process_order_stock_changes":
{ Args: { "p_idempotency_key"?: string,"p_order_id": string }; Returns: Json
                           },
"restore_backup_snapshot":
{ Args: { "p_dry_run"?: boolean,"p_idempotency_key"?: string,"p_snapshot_id": string }; Returns: Json
                           },
"restore_order_stock":
{ Args: { "p_idempotency_key"?: string,"p_order_id": string }; Returns: Json
                           },
"set_social_integration_tokens":
{ Args: { "p_access_token": string,"p_integration_id": string,"p_refresh_token"?: string,"p_token_expires_at"?: string }; Returns: undefined
                           },
"update_stock":
{ Args: { "p_change"?: number,"p_expected_stock"?: number,"p_idempotency_key"?: string,"p_item_id": string,"p_note"?: string,"p_reason"?: string,"p_reference_id"?: string,"p_set_to"?: number }; Returns: Json
                           }
          }
          Enums: {
            "billing_interval": "month"|"year","conversation_status": "open"|"closed"|"archived","data_extension_status": "pending"|"active"|"expired"|"rejected","integration_status": "active"|"expired"|"revoked"|"error","item_type": "product"|"service","keyword_match_type": "exact"|"contains"|"starts_with","message_sender_type": "customer"|"agent"|"ai"|"system","order_channel": "form"|"messenger"|"instagram"|"whatsapp"|"manual","order_status": "pending"|"confirmed"|"processing"|"shipped"|"delivered"|"completed"|"cancelled"|"refunded","payment_method_type": "bank_transfer"|"mobile_wallet"|"cod"|"card"|"other","payment_status": "unpaid"|"pending"|"paid"|"partially_refunded"|"refunded"|"failed","social_platform": "facebook"|"messenger"|"instagram"|"whatsapp"|"tiktok"|"web","subscription_event_kind": "new"|"expansion"|"contraction"|"churn"|"reactivation","subscription_plan": "free"|"starter"|"pro"|"business","subscription_status": "trialing"|"active"|"past_due"|"canceled","sync_state": "idle"|"running"|"error","team_role": "viewer"|"staff"|"admin"|"owner"
          }
          CompositeTypes: {
            [_ in never]: never
          }
        }
}

type DatabaseWithoutInternals = Omit<Database, '__InternalSupabase'>

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
  ? (DefaultSchema["Tables"] & DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
      Row: infer R
    }
    ? R
    : never
  : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Insert: infer I
    }
    ? I
    : never
  : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Update: infer U
    }
    ? U
    : never
  : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never = never
> = DefaultSchemaEnumNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
  ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
  : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never = never
> = PublicCompositeTypeNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
  ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
  : never

export const Constants = {
  "public": {
          Enums: {
            "billing_interval": ["month", "year"],"conversation_status": ["open", "closed", "archived"],"data_extension_status": ["pending", "active", "expired", "rejected"],"integration_status": ["active", "expired", "revoked", "error"],"item_type": ["product", "service"],"keyword_match_type": ["exact", "contains", "starts_with"],"message_sender_type": ["customer", "agent", "ai", "system"],"order_channel": ["form", "messenger", "instagram", "whatsapp", "manual"],"order_status": ["pending", "confirmed", "processing", "shipped", "delivered", "completed", "cancelled", "refunded"],"payment_method_type": ["bank_transfer", "mobile_wallet", "cod", "card", "other"],"payment_status": ["unpaid", "pending", "paid", "partially_refunded", "refunded", "failed"],"social_platform": ["facebook", "messenger", "instagram", "whatsapp", "tiktok", "web"],"subscription_event_kind": ["new", "expansion", "contraction", "churn", "reactivation"],"subscription_plan": ["free", "starter", "pro", "business"],"subscription_status": ["trialing", "active", "past_due", "canceled"],"sync_state": ["idle", "running", "error"],"team_role": ["viewer", "staff", "admin", "owner"]
          }
        }
} as const
