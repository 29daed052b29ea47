package io.capsule.wasm.fuel;

import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Function;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

/**
 * Makes a guest module compiled ahead of time by Chicory charge fuel. Chicory's compiled code calls one
 * static {@code checkInterruption()V} of the machine's shaded helper class before every wasm call and
 * at every taken loop back-edge. {@link #meter} defines that helper class, rewritten so that the method
 * first calls {@link FuelMeter#checkpoint()}, in the machine's own class loader before anything loads
 * the original.
 * The tens of thousands of call sites are left alone (CPython's eval loop is near the JVM's 64 KB
 * method limit), and the other compiled classes stay on the class path, so class-data sharing still
 * covers them. Works for any Chicory-compiled machine (CPython, QuickJS, ...).
 */
public final class MeteredMachines {
    static final String CHECKPOINT_METHOD = "checkInterruption";
    /**
     * Fuel units (≈ wasm instructions, counted as wasmtime counts fuel) one checkpoint stands for: the
     * geometric mean of instructions per checkpoint measured by FuelCalibrationTest (docs/fuel.md).
     */
    public static final double CALIBRATED_FUEL_PER_CHECKPOINT = 13.3;
    private static final Set<String> METERED = new HashSet<>();

    private MeteredMachines() {}

    /**
     * Rewrites {@code helperClassName} (in the package of {@code machineClass}) so its checkpoints charge
     * the current thread's {@link FuelMeter}. Idempotent; must run before anything loads the helper.
     *
     * @throws IllegalStateException if the helper was already loaded unmetered or has no checkpoint method
     */
    public static synchronized void meter(Class<? extends Machine> machineClass, String helperClassName) {
        if (METERED.contains(helperClassName)) {
            return;
        }
        byte[] rewritten = rewrite(classBytes(machineClass.getClassLoader(), helperClassName));
        try {
            MethodHandles.privateLookupIn(machineClass, MethodHandles.lookup()).defineClass(rewritten);
        } catch (LinkageError e) {
            throw new IllegalStateException(helperClassName + " was loaded before fuel metering was installed", e);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot define classes in the package of " + machineClass.getName(), e);
        }
        METERED.add(helperClassName);
    }

    /**
     * The machine exactly as shipped, without metering: its compiled classes loaded afresh, unmodified, in
     * a class loader of their own. For measuring what metering costs; tasks never run on it.
     */
    public static Function<Instance, Machine> unmetered(Class<? extends Machine> machineClass) {
        ClassLoader source = machineClass.getClassLoader();
        String prefix = machineClass.getName();
        ClassLoader isolated = new ClassLoader("unmetered-" + machineClass.getSimpleName(), source) {
            @Override
            protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
                if (!name.startsWith(prefix)) {
                    return super.loadClass(name, resolve);
                }
                synchronized (getClassLoadingLock(name)) {
                    Class<?> c = findLoadedClass(name);
                    if (c == null) {
                        byte[] bytes = classBytes(source, name);
                        c = defineClass(name, bytes, 0, bytes.length);
                    }
                    return c;
                }
            }
        };
        try {
            MethodHandle constructor = MethodHandles.publicLookup().findConstructor(
                    Class.forName(machineClass.getName(), true, isolated), MethodType.methodType(void.class, Instance.class));
            return instance -> {
                try {
                    return (Machine) constructor.invoke(instance);
                } catch (RuntimeException | Error e) {
                    throw e;
                } catch (Throwable t) {
                    throw new IllegalStateException(t);
                }
            };
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot load " + machineClass.getName() + " unmetered", e);
        }
    }

    /**
     * The class file of a Chicory checkpoint helper with a call to {@link FuelMeter#checkpoint()} inserted
     * at the start of its static {@code checkInterruption()V}: for machines whose classes are defined by a
     * class loader of one's own (compiled at run time), where {@link #meter} cannot be used.
     */
    public static byte[] rewrite(byte[] helper) {
        ClassReader reader = new ClassReader(helper);
        ClassWriter writer = new ClassWriter(reader, 0);
        boolean[] found = {false};
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
                MethodVisitor mv = super.visitMethod(access, name, descriptor, signature, exceptions);
                if (!CHECKPOINT_METHOD.equals(name) || !"()V".equals(descriptor) || (access & Opcodes.ACC_STATIC) == 0) {
                    return mv;
                }
                found[0] = true;
                return new MethodVisitor(Opcodes.ASM9, mv) {
                    @Override
                    public void visitCode() {
                        super.visitCode();
                        // Takes and leaves nothing on the operand stack: the original max stack still holds.
                        super.visitMethodInsn(Opcodes.INVOKESTATIC, Type.getInternalName(FuelMeter.class), "checkpoint", "()V", false);
                    }
                };
            }
        }, 0);
        if (!found[0]) {
            throw new IllegalStateException("class " + reader.getClassName() + " has no static " + CHECKPOINT_METHOD + "()V");
        }
        return writer.toByteArray();
    }

    private static byte[] classBytes(ClassLoader loader, String className) {
        String resource = className.replace('.', '/') + ".class";
        try (InputStream in = loader.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("class file " + resource + " not found");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
