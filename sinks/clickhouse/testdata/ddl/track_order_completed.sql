CREATE TABLE IF NOT EXISTS `sluice`.`track_order_completed`
(
    `message_id` String COMMENT 'Segment messageId: unique per event',
    `workspace` LowCardinality(String) COMMENT 'the tenant (sluice.yaml workspace)',
    `source` LowCardinality(String) COMMENT 'the source whose write key sent the event',
    `user_id` String COMMENT 'userId; empty when the user was anonymous',
    `anonymous_id` String COMMENT 'anonymousId; empty when the sender gave none',
    `event` LowCardinality(String) COMMENT 'the track event\'s name',
    `timestamp` DateTime64(3, 'UTC') COMMENT 'when the event happened, corrected for the sender\'s clock skew',
    `received_at` DateTime64(3, 'UTC') COMMENT 'when sluice\'s tracking API received the event',
    `plan` LowCardinality(String) COMMENT 'tracking plan that judged the event; empty when none',
    `plan_version` UInt32 COMMENT 'published version of that plan; 0 when none',
    `event_version` UInt32 COMMENT 'schema version of the planned event; 0 when unplanned',
    `kafka_topic` LowCardinality(String) COMMENT 'topic sluice delivered the event from',
    `kafka_partition` Int32 COMMENT 'partition sluice delivered the event from',
    `kafka_offset` Int64 COMMENT 'offset sluice delivered the event from: with topic and partition, the delivery\'s identity',
    `loaded_at` DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'when the row was inserted',
    `order_id` Nullable(String) COMMENT 'properties.order_id (string): The order\'s id.',
    `total` Nullable(Float64) COMMENT 'properties.total (double)',
    `currency` LowCardinality(Nullable(String)) COMMENT 'properties.currency (enum Currency{USD,EUR})',
    `coupon` Nullable(String) COMMENT 'properties.coupon (union<null,string>)',
    `item_count` Nullable(Int64) COMMENT 'properties.item_count (int)',
    `completed_at` Nullable(DateTime64(3, 'UTC')) COMMENT 'properties.completed_at (long(timestamp-millis))',
    `shipped_at` Nullable(DateTime64(6, 'UTC')) COMMENT 'properties.shipped_at (union<null,long(timestamp-micros)>)',
    `paid` Nullable(Bool) COMMENT 'properties.paid (boolean)',
    `products` Nullable(String) COMMENT 'properties.products (array<Product>)',
    `tags` Array(String) COMMENT 'properties.tags (array<string>)',
    `attributes` Map(String, String) COMMENT 'properties.attributes (map<string>)',
    `discount` Nullable(Decimal(10, 2)) COMMENT 'properties.discount (bytes(decimal,10,2))',
    `placed_on` Nullable(Date32) COMMENT 'properties.placed_on (int(date))',
    `pickup_time` Nullable(Int64) COMMENT 'properties.pickup_time (union<null,int(time-millis)>)',
    `token` Nullable(UUID) COMMENT 'properties.token (string(uuid))',
    `address` JSON COMMENT 'properties.address (union<null,Address>)',
    `prop_event` Nullable(String) COMMENT 'properties.event (union<null,string>): A property that shares a column\'s name.',
    `note` Nullable(String) COMMENT 'properties.note (union<null,string,long>)',
    INDEX idx_user_id user_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_anonymous_id anonymous_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(received_at)
ORDER BY (workspace, toDate(timestamp), user_id)
SETTINGS non_replicated_deduplication_window = 10000, old_parts_lifetime = 300, cleanup_delay_period = 30, cleanup_delay_period_random_add = 10, max_cleanup_delay_period = 150
COMMENT 'Typed copy of the planned track event Order Completed: one column per top-level property.';

-- plan shop v2 adds:
ALTER TABLE `sluice`.`track_order_completed`
    ADD COLUMN IF NOT EXISTS `shipping` Nullable(Float64) COMMENT 'properties.shipping (double)',
    ADD COLUMN IF NOT EXISTS `gift` Nullable(Bool) COMMENT 'properties.gift (union<null,boolean>)';
