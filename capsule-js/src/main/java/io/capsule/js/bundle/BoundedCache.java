package io.capsule.js.bundle;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * A least-recently-used map bounded by the total weight of its values (bytes, characters), so that a few
 * huge programs cannot make the host keep gigabytes of transformed code. Thread-safe.
 */
public final class BoundedCache<K, V> {
    private final LinkedHashMap<K, V> map = new LinkedHashMap<>(16, 0.75f, true);
    private final ToLongFunction<V> weigher;
    private final long maxWeight;
    private long weight;

    public BoundedCache(long maxWeight, ToLongFunction<V> weigher) {
        this.maxWeight = maxWeight;
        this.weigher = weigher;
    }

    public synchronized V get(K key) {
        return map.get(key);
    }

    /** Adds the value unless it alone is heavier than the bound; evicts the least recently used beyond it. */
    public synchronized void put(K key, V value) {
        long w = weigher.applyAsLong(value);
        if (w > maxWeight) {
            return;
        }
        V old = map.put(key, value);
        weight += w - (old == null ? 0 : weigher.applyAsLong(old));
        for (Iterator<Map.Entry<K, V>> it = map.entrySet().iterator(); weight > maxWeight && it.hasNext(); ) {
            Map.Entry<K, V> eldest = it.next();
            weight -= weigher.applyAsLong(eldest.getValue());
            it.remove();
        }
    }
}
